import type { PoolClient } from 'pg';

/** One schema version: its SQL for a schema name. Append new versions; never edit an applied one. */
export interface Migration {
  version: number;
  sql: (schema: string) => string;
}

/**
 * Applies the migrations not yet recorded in `<schema>.<table>`, in one transaction, under an
 * advisory lock named after the table, so nodes starting at once do not race. Returns the
 * versions it applied (none when up to date).
 */
export async function applyMigrations(
  client: PoolClient,
  schema: string,
  table: string,
  migrations: readonly Migration[],
): Promise<number[]> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [table]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${schema}.${table} (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = await client.query<{ version: number }>(`SELECT version FROM ${schema}.${table}`);
    const applied = new Set(done.rows.map((r) => r.version));
    const ran: number[] = [];
    for (const m of migrations) {
      if (applied.has(m.version)) continue;
      await client.query(m.sql(schema));
      await client.query(`INSERT INTO ${schema}.${table} (version) VALUES ($1)`, [m.version]);
      ran.push(m.version);
    }
    await client.query('COMMIT');
    return ran;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
