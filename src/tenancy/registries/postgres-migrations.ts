import type { PoolClient } from 'pg';

/**
 * The registry's schema, one entry per version, applied in order and recorded in
 * `<schema>.agentfleet_migrations`. Append new versions; never edit an applied one.
 */
export const MIGRATIONS: ReadonlyArray<{ version: number; sql: (schema: string) => string }> = [
  {
    version: 1,
    sql: (s) => `
      CREATE TABLE ${s}.agentfleet_tenants (
        id text PRIMARY KEY,
        name text NOT NULL,
        quotas jsonb NOT NULL DEFAULT '{}'::jsonb,
        disabled boolean NOT NULL DEFAULT false,
        created_at bigint NOT NULL
      );
      CREATE TABLE ${s}.agentfleet_api_keys (
        id text PRIMARY KEY,
        tenant_id text NOT NULL REFERENCES ${s}.agentfleet_tenants(id) ON DELETE CASCADE,
        name text NOT NULL,
        hash char(64) NOT NULL,
        created_at bigint NOT NULL,
        revoked_at bigint
      );
      CREATE INDEX agentfleet_api_keys_tenant ON ${s}.agentfleet_api_keys (tenant_id);`,
  },
];

/** Applies missing migrations in one transaction, under an advisory lock so concurrent starts do not race. */
export async function migrate(client: PoolClient, schema: string): Promise<number[]> {
  await client.query('BEGIN');
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtext('agentfleet_migrations'))");
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${schema}.agentfleet_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = await client.query<{ version: number }>(
      `SELECT version FROM ${schema}.agentfleet_migrations`,
    );
    const applied = new Set(done.rows.map((r) => r.version));
    const ran: number[] = [];
    for (const m of MIGRATIONS) {
      if (applied.has(m.version)) continue;
      await client.query(m.sql(schema));
      await client.query(`INSERT INTO ${schema}.agentfleet_migrations (version) VALUES ($1)`, [m.version]);
      ran.push(m.version);
    }
    await client.query('COMMIT');
    return ran;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
