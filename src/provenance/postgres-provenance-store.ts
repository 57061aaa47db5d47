import type pg from 'pg';
import type { z } from 'zod';
import { parseOptions } from '../errors/index.ts';
import { openPgPool, pgStoreOptionsSchema } from '../sql/index.ts';
import { type ChainReport, ChainVerifier, chained, GENESIS_HASH } from './chain.ts';
import { ProvenanceError } from './errors.ts';
import type { ParsedProvenanceQuery, ProvenancePage, ProvenanceStore } from './provenance-store.ts';
import { readRecord } from './read-record.ts';
import type { DecisionDraft } from './records.ts';

/** Pool of 2 (records are written in batches), statements up to 30 s (a large query). */
const optionsSchema = pgStoreOptionsSchema({ maxConnections: 2, queryTimeoutMs: 30_000 });

/** Options of `PostgresProvenanceStore.open`. */
export type PostgresProvenanceStoreOptions = z.input<typeof optionsSchema>;

type Row = Record<string, unknown>;

/**
 * Provenance in PostgreSQL, shared by a cluster's nodes. A batch is one transaction holding
 * each of its tenants' advisory locks, so two nodes appending to one tenant's chain take turns
 * and the chain stays linear. The record is kept as JSONB beside the indexed columns.
 */
export class PostgresProvenanceStore implements ProvenanceStore {
  readonly #pool: pg.Pool;
  readonly #t: string;
  readonly #d: string;
  #closed: Promise<void> | undefined;

  private constructor(pool: pg.Pool, schema: string) {
    this.#pool = pool;
    this.#t = `${schema}.agentfleet_provenance`;
    this.#d = `${schema}.agentfleet_provenance_documents`;
  }

  /** Connects and creates the tables (idempotent). @throws ProvenanceError `PROVENANCE_STORE_UNAVAILABLE`. */
  static async open(options: PostgresProvenanceStoreOptions = {}): Promise<PostgresProvenanceStore> {
    const o = parseOptions('PostgreSQL provenance store', optionsSchema, options);
    const pool = openPgPool(o, 'agentfleet-provenance');
    const store = new PostgresProvenanceStore(pool, o.schema);
    try {
      await store.#migrate(o.schema);
    } catch (error) {
      await pool.end().catch(() => {});
      throw unavailable('Cannot open the PostgreSQL provenance store', error);
    }
    return store;
  }

  async #migrate(schema: string): Promise<void> {
    const client = await this.#pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock(hashtext($1))', [`agentfleet-provenance:${schema}`]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await client.query(`
        CREATE TABLE IF NOT EXISTS ${this.#t} (
          tenant TEXT NOT NULL, seq BIGINT NOT NULL, at BIGINT NOT NULL, agent_id TEXT NOT NULL,
          run_id TEXT, trace_id TEXT, model TEXT NOT NULL, model_version TEXT, hash TEXT NOT NULL,
          record JSONB NOT NULL, PRIMARY KEY (tenant, seq));
        CREATE INDEX IF NOT EXISTS agentfleet_provenance_at ON ${this.#t} (at);
        CREATE INDEX IF NOT EXISTS agentfleet_provenance_agent ON ${this.#t} (tenant, agent_id, seq);
        CREATE INDEX IF NOT EXISTS agentfleet_provenance_run ON ${this.#t} (tenant, run_id) WHERE run_id IS NOT NULL;
        CREATE INDEX IF NOT EXISTS agentfleet_provenance_trace ON ${this.#t} (tenant, trace_id) WHERE trace_id IS NOT NULL;
        CREATE INDEX IF NOT EXISTS agentfleet_provenance_model ON ${this.#t} (tenant, model, at);
        CREATE INDEX IF NOT EXISTS agentfleet_provenance_model_version ON ${this.#t} (tenant, model_version, at)
          WHERE model_version IS NOT NULL;
        CREATE TABLE IF NOT EXISTS ${this.#d} (
          tenant TEXT NOT NULL, document_id TEXT NOT NULL, seq BIGINT NOT NULL,
          PRIMARY KEY (tenant, document_id, seq));`);
    } finally {
      await client
        .query('SELECT pg_advisory_unlock(hashtext($1))', [`agentfleet-provenance:${schema}`])
        .catch(() => {});
      client.release();
    }
  }

  async #tx<R>(work: (client: pg.PoolClient) => Promise<R>): Promise<R> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw unavailable('No connection to the PostgreSQL provenance store', error);
    }
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      client.release();
      throw error instanceof ProvenanceError ? error : unavailable('A provenance write failed', error);
    }
  }

  async #query(text: string, values: unknown[]): Promise<Row[]> {
    try {
      return (await this.#pool.query(text, values)).rows as Row[];
    } catch (error) {
      throw unavailable('A provenance query failed', error);
    }
  }

  async append(drafts: readonly DecisionDraft[]): Promise<void> {
    if (drafts.length === 0) return;
    const tenants = [...new Set(drafts.map((d) => d.tenant))].sort();
    await this.#tx(async (client) => {
      const heads = new Map<string, { seq: number; hash: string }>();
      for (const tenant of tenants) {
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`agentfleet-provenance:${tenant}`]);
        const { rows } = await client.query(
          `SELECT seq, hash FROM ${this.#t} WHERE tenant = $1 ORDER BY seq DESC LIMIT 1`,
          [tenant],
        );
        const row = rows[0] as Row | undefined;
        heads.set(
          tenant,
          row === undefined
            ? { seq: 0, hash: GENESIS_HASH }
            : { seq: Number(row.seq), hash: String(row.hash) },
        );
      }
      const records = drafts.map((draft) => {
        const head = heads.get(draft.tenant) as { seq: number; hash: string };
        const record = chained(draft, head.seq + 1, head.hash);
        heads.set(draft.tenant, { seq: record.seq, hash: record.hash });
        return record;
      });
      // One statement for the batch: the rows as arrays, unnested on the server.
      await client.query(
        `INSERT INTO ${this.#t} (tenant, seq, at, agent_id, run_id, trace_id, model, model_version, hash, record)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::jsonb[])`,
        [
          records.map((r) => r.tenant),
          records.map((r) => r.seq),
          records.map((r) => r.at),
          records.map((r) => r.agentId),
          records.map((r) => r.runId),
          records.map((r) => r.traceId),
          records.map((r) => r.model),
          records.map((r) => r.modelVersion),
          records.map((r) => r.hash),
          records.map((r) => JSON.stringify(r)),
        ],
      );
      const docs = records.flatMap((r) =>
        [...new Set(r.passages.map((p) => p.documentId))].map((d) => [r.tenant, d, r.seq] as const),
      );
      if (docs.length > 0)
        await client.query(
          `INSERT INTO ${this.#d} (tenant, document_id, seq) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) ON CONFLICT DO NOTHING`,
          [docs.map((d) => d[0]), docs.map((d) => d[1]), docs.map((d) => d[2])],
        );
    });
  }

  async query(tenant: string, q: ParsedProvenanceQuery): Promise<ProvenancePage> {
    const where = ['p.tenant = $1'];
    const args: unknown[] = [tenant];
    const add = (sql: string, value: unknown) => {
      args.push(value);
      where.push(sql.replace('?', `$${args.length}`));
    };
    let from = `${this.#t} p`;
    if (q.document !== undefined) {
      from = `${this.#d} d JOIN ${this.#t} p ON p.tenant = d.tenant AND p.seq = d.seq`;
      where.push('d.tenant = $1');
      add('d.document_id = ?', q.document);
    }
    if (q.agent !== undefined) add('p.agent_id = ?', q.agent);
    if (q.run !== undefined) add('p.run_id = ?', q.run);
    if (q.trace !== undefined) add('p.trace_id = ?', q.trace);
    if (q.model !== undefined) add('p.model = ?', q.model);
    if (q.modelVersion !== undefined) add('p.model_version = ?', q.modelVersion);
    if (q.from !== undefined) add('p.at >= ?', q.from);
    if (q.to !== undefined) add('p.at < ?', q.to);
    if (q.after !== undefined) add('p.seq > ?', q.after);
    args.push(q.limit + 1);
    const rows = await this.#query(
      `SELECT p.record FROM ${from} WHERE ${where.join(' AND ')} ORDER BY p.seq LIMIT $${args.length}`,
      args,
    );
    const records = rows.slice(0, q.limit).map((r) => readRecord(r.record, tenant));
    const last = records.at(-1);
    return rows.length > q.limit && last !== undefined ? { records, next: last.seq } : { records };
  }

  async verify(tenant: string): Promise<ChainReport> {
    const verifier = new ChainVerifier(tenant);
    let after = 0;
    while (true) {
      const rows = await this.#query(
        `SELECT seq, record FROM ${this.#t} WHERE tenant = $1 AND seq > $2 ORDER BY seq LIMIT 1000`,
        [tenant, after],
      );
      for (const row of rows) {
        try {
          if (!verifier.add(readRecord(row.record, tenant))) return verifier.report();
        } catch (error) {
          const report = verifier.report();
          return {
            tenant,
            records: report.records + 1,
            ok: false,
            broken: { seq: Number(row.seq), id: '?', reason: (error as Error).message },
          };
        }
        after = Number(row.seq);
      }
      if (rows.length < 1000) return verifier.report();
    }
  }

  async tenants(): Promise<string[]> {
    const rows = await this.#query(`SELECT DISTINCT tenant FROM ${this.#t} ORDER BY tenant`, []);
    return rows.map((r) => String(r.tenant));
  }

  async prune(before: number): Promise<number> {
    return this.#tx(async (client) => {
      await client.query(
        `DELETE FROM ${this.#d} d USING ${this.#t} p WHERE p.tenant = d.tenant AND p.seq = d.seq AND p.at < $1`,
        [before],
      );
      return (await client.query(`DELETE FROM ${this.#t} WHERE at < $1`, [before])).rowCount ?? 0;
    });
  }

  async purgeTenant(tenant: string): Promise<{ records: number }> {
    return this.#tx(async (client) => {
      await client.query(`DELETE FROM ${this.#d} WHERE tenant = $1`, [tenant]);
      return {
        records: (await client.query(`DELETE FROM ${this.#t} WHERE tenant = $1`, [tenant])).rowCount ?? 0,
      };
    });
  }

  /** The table of records, for tests that tamper with rows. */
  get table(): string {
    return this.#t;
  }

  close(): Promise<void> {
    this.#closed ??= this.#pool.end().catch(() => {});
    return this.#closed;
  }
}

function unavailable(what: string, error: unknown): ProvenanceError {
  return new ProvenanceError('PROVENANCE_STORE_UNAVAILABLE', `${what}: ${(error as Error).message}`, {
    cause: error,
  });
}
