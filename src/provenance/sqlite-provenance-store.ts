import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { type ChainReport, ChainVerifier, chained, GENESIS_HASH } from './chain.ts';
import type { ParsedProvenanceQuery, ProvenancePage, ProvenanceStore } from './provenance-store.ts';
import { readRecord } from './read-record.ts';
import type { DecisionDraft, ProvenanceRecord } from './records.ts';

/** Options of `SqliteProvenanceStore.open`. */
export interface SqliteProvenanceStoreOptions {
  /** The database file (its folder is created), or `:memory:`. */
  path: string;
  /** Milliseconds a write waits for another process's lock. Default 5,000. */
  busyTimeoutMs?: number;
}

// One row per record, with the columns the auditor's questions filter on; the documents a
// decision used sit in their own table so "which decisions used document X" is an index scan.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS provenance (
  tenant TEXT NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL, agent_id TEXT NOT NULL,
  run_id TEXT, trace_id TEXT, model TEXT NOT NULL, model_version TEXT, hash TEXT NOT NULL,
  record TEXT NOT NULL, UNIQUE (tenant, seq));
CREATE INDEX IF NOT EXISTS provenance_at ON provenance (at);
CREATE INDEX IF NOT EXISTS provenance_agent ON provenance (tenant, agent_id, seq);
CREATE INDEX IF NOT EXISTS provenance_run ON provenance (tenant, run_id) WHERE run_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS provenance_trace ON provenance (tenant, trace_id) WHERE trace_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS provenance_model ON provenance (tenant, model, at);
CREATE INDEX IF NOT EXISTS provenance_model_version ON provenance (tenant, model_version, at)
  WHERE model_version IS NOT NULL;
CREATE TABLE IF NOT EXISTS provenance_documents (
  tenant TEXT NOT NULL, document_id TEXT NOT NULL, seq INTEGER NOT NULL,
  PRIMARY KEY (tenant, document_id, seq)) WITHOUT ROWID;
`;

type Row = Record<string, SQLInputValue>;

/**
 * Provenance in a SQLite file through Node's built-in `node:sqlite` (the node's default,
 * `<dataDir>/provenance.db`). WAL mode; a batch is one transaction. The chain's head per
 * tenant is read from the file at each append, so several processes may share it.
 */
export class SqliteProvenanceStore implements ProvenanceStore {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #insertDocument: StatementSync;
  readonly #head: StatementSync;
  #closed = false;

  private constructor(db: DatabaseSync) {
    this.#db = db;
    this.#insert = db.prepare(
      'INSERT INTO provenance (tenant, seq, at, agent_id, run_id, trace_id, model, model_version, hash, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.#insertDocument = db.prepare(
      'INSERT OR IGNORE INTO provenance_documents (tenant, document_id, seq) VALUES (?, ?, ?)',
    );
    this.#head = db.prepare('SELECT seq, hash FROM provenance WHERE tenant = ? ORDER BY seq DESC LIMIT 1');
  }

  static async open(options: SqliteProvenanceStoreOptions): Promise<SqliteProvenanceStore> {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    const db = new DatabaseSync(options.path, { timeout: options.busyTimeoutMs ?? 5000 });
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
    db.exec(SCHEMA);
    return new SqliteProvenanceStore(db);
  }

  async append(drafts: readonly DecisionDraft[]): Promise<void> {
    if (drafts.length === 0) return;
    const heads = new Map<string, { seq: number; hash: string }>();
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      for (const draft of drafts) {
        let head = heads.get(draft.tenant);
        if (head === undefined) {
          const row = this.#head.get(draft.tenant) as Row | undefined;
          head =
            row === undefined
              ? { seq: 0, hash: GENESIS_HASH }
              : { seq: Number(row.seq), hash: String(row.hash) };
        }
        const record = chained(draft, head.seq + 1, head.hash);
        this.#insert.run(
          record.tenant,
          record.seq,
          record.at,
          record.agentId,
          record.runId,
          record.traceId,
          record.model,
          record.modelVersion,
          record.hash,
          JSON.stringify(record),
        );
        for (const p of record.passages) this.#insertDocument.run(record.tenant, p.documentId, record.seq);
        heads.set(draft.tenant, { seq: record.seq, hash: record.hash });
      }
      this.#db.exec('COMMIT');
    } catch (error) {
      this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  async query(tenant: string, q: ParsedProvenanceQuery): Promise<ProvenancePage> {
    const where = ['p.tenant = ?'];
    const args: SQLInputValue[] = [tenant];
    let from = 'provenance p';
    if (q.document !== undefined) {
      from = 'provenance_documents d JOIN provenance p ON p.tenant = d.tenant AND p.seq = d.seq';
      where.push('d.tenant = ?', 'd.document_id = ?');
      args.push(tenant, q.document);
    }
    const eq = (column: string, value: string | undefined) => {
      if (value === undefined) return;
      where.push(`p.${column} = ?`);
      args.push(value);
    };
    eq('agent_id', q.agent);
    eq('run_id', q.run);
    eq('trace_id', q.trace);
    eq('model', q.model);
    eq('model_version', q.modelVersion);
    if (q.from !== undefined) {
      where.push('p.at >= ?');
      args.push(q.from);
    }
    if (q.to !== undefined) {
      where.push('p.at < ?');
      args.push(q.to);
    }
    if (q.after !== undefined) {
      where.push('p.seq > ?');
      args.push(q.after);
    }
    args.push(q.limit + 1);
    const rows = this.#db
      .prepare(`SELECT p.record FROM ${from} WHERE ${where.join(' AND ')} ORDER BY p.seq LIMIT ?`)
      .all(...args) as Row[];
    const records = rows.slice(0, q.limit).map((r) => readRecord(r.record, tenant));
    const last = records.at(-1);
    return rows.length > q.limit && last !== undefined ? { records, next: last.seq } : { records };
  }

  async verify(tenant: string): Promise<ChainReport> {
    const verifier = new ChainVerifier(tenant);
    const rows = this.#db
      .prepare('SELECT record FROM provenance WHERE tenant = ? ORDER BY seq')
      .iterate(tenant);
    for (const row of rows) {
      let record: ProvenanceRecord;
      try {
        record = readRecord((row as Row).record, tenant);
      } catch (error) {
        const report = verifier.report();
        return {
          tenant,
          records: report.records + 1,
          ok: false,
          broken: { seq: report.records + 1, id: '?', reason: (error as Error).message },
        };
      }
      if (!verifier.add(record)) break;
    }
    return verifier.report();
  }

  async tenants(): Promise<string[]> {
    const rows = this.#db.prepare('SELECT DISTINCT tenant FROM provenance ORDER BY tenant').all() as Row[];
    return rows.map((r) => String(r.tenant));
  }

  async prune(before: number): Promise<number> {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      this.#db
        .prepare(
          'DELETE FROM provenance_documents WHERE (tenant, seq) IN (SELECT tenant, seq FROM provenance WHERE at < ?)',
        )
        .run(before);
      const { changes } = this.#db.prepare('DELETE FROM provenance WHERE at < ?').run(before);
      this.#db.exec('COMMIT');
      return Number(changes);
    } catch (error) {
      this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  async purgeTenant(tenant: string): Promise<{ records: number }> {
    this.#db.prepare('DELETE FROM provenance_documents WHERE tenant = ?').run(tenant);
    const { changes } = this.#db.prepare('DELETE FROM provenance WHERE tenant = ?').run(tenant);
    return { records: Number(changes) };
  }

  /** The database, for tests that tamper with it and for bulk loading in benchmarks. */
  get database(): DatabaseSync {
    return this.#db;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }
}
