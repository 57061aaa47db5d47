import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import {
  alreadyExists,
  approvalNotFound,
  corruptRow,
  RunsError,
  runConflict,
  runFinished,
  runNotFound,
} from './errors.ts';
import { applyDecision, approvalDecided } from './memory-run-store.ts';
import { pageLimit, tenantKey } from './paging.ts';
import { headerAfterAppend, readApproval, readConversation, readEvent, readRun } from './read-rows.ts';
import type {
  ApprovalDecision,
  ApprovalRecord,
  Conversation,
  RunEvent,
  RunPatch,
  RunRecord,
} from './run-schemas.ts';
import type {
  ListApprovalsOptions,
  ListRunsOptions,
  RunStore,
  RunStorePurge,
  SweepOptions,
} from './run-store.ts';

/** Options of `SqliteRunStore.open`. */
export interface SqliteRunStoreOptions {
  /** The database file (its folder is created), or `:memory:`. */
  path: string;
  /** Milliseconds a write waits for another process's lock (`--workers` share the file). Default 5,000. */
  busyTimeoutMs?: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  tenant TEXT NOT NULL, id TEXT NOT NULL, agent_id TEXT NOT NULL, status TEXT NOT NULL,
  owner TEXT, seq INTEGER NOT NULL, finished_at INTEGER, events_swept INTEGER NOT NULL DEFAULT 0,
  record TEXT NOT NULL, PRIMARY KEY (tenant, id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS runs_by_agent ON runs (tenant, agent_id, id);
CREATE INDEX IF NOT EXISTS runs_unfinished ON runs (id) WHERE finished_at IS NULL;
CREATE INDEX IF NOT EXISTS runs_finished ON runs (finished_at) WHERE finished_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS run_events (
  tenant TEXT NOT NULL, run_id TEXT NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL,
  PRIMARY KEY (tenant, run_id, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS approvals (
  tenant TEXT NOT NULL, id TEXT NOT NULL, run_id TEXT NOT NULL, status TEXT NOT NULL,
  expires_at INTEGER, decided_at INTEGER, record TEXT NOT NULL, PRIMARY KEY (tenant, id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS approvals_due ON approvals (expires_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS approvals_decided ON approvals (decided_at) WHERE decided_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS conversations (
  tenant TEXT NOT NULL, agent_id TEXT NOT NULL, conversation TEXT NOT NULL,
  PRIMARY KEY (tenant, agent_id)) WITHOUT ROWID;
`;

type Row = Record<string, string | number | null>;

/**
 * Runs in a SQLite file through Node's built-in `node:sqlite`: the node's embedded default, so
 * a restart loses nothing without any other process. WAL mode, `synchronous=NORMAL`: a commit
 * survives the process being killed (the OS flushes it); several processes may share the file.
 * Each append is one transaction that inserts only the new events and the small header.
 */
export class SqliteRunStore implements RunStore {
  readonly #db: DatabaseSync;
  readonly #s: ReturnType<typeof prepare>;
  #closed = false;
  #queue: Array<{
    work: () => unknown;
    resolve: (value: unknown) => void;
    reject: (error: unknown) => void;
  }> = [];
  #immediate: NodeJS.Immediate | undefined;

  private constructor(db: DatabaseSync) {
    this.#db = db;
    this.#s = prepare(db);
  }

  /** Opens (creating if needed) the store at `options.path`. */
  static async open(options: SqliteRunStoreOptions): Promise<SqliteRunStore> {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(options.path, { timeout: options.busyTimeoutMs ?? 5_000 });
    } catch (error) {
      throw new RunsError(
        'RUN_STORE_UNAVAILABLE',
        `Cannot open the run store ${options.path}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    try {
      db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
      db.exec(SCHEMA);
      return new SqliteRunStore(db);
    } catch (error) {
      db.close();
      throw new RunsError(
        'RUN_STORE_UNAVAILABLE',
        `Cannot prepare the run store ${options.path}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }

  async create(run: RunRecord, events: readonly RunEvent[]): Promise<void> {
    this.#open();
    const t = tenantKey(run.tenant);
    await this.#batched(() => {
      const inserted = this.#s.insertRun.run(
        t,
        run.id,
        run.agentId,
        run.status,
        run.owner ?? null,
        run.seq,
        run.finishedAt ?? null,
        JSON.stringify(run),
      );
      if (inserted.changes === 0) throw alreadyExists('Run', run.id);
      for (const event of events) this.#s.insertEvent.run(t, run.id, event.seq, JSON.stringify(event));
    });
  }

  async append(
    tenant: string | undefined,
    runId: string,
    expectedSeq: number,
    events: readonly RunEvent[],
    patch: RunPatch & { updatedAt: number },
  ): Promise<RunRecord> {
    this.#open();
    const t = tenantKey(tenant);
    const seq = expectedSeq + events.length;
    return this.#batched(() => {
      // One conditional UPDATE is the compare-and-set (seq as read, not finished) and merges the
      // patch into the stored header (json_patch, RFC 7396), so an append costs no header parse.
      let updated: Row | undefined;
      try {
        updated = this.#s.appendRun.get(
          patch.status ?? null,
          patch.owner ?? null,
          seq,
          patch.finishedAt ?? null,
          JSON.stringify({ ...patch, seq }),
          t,
          runId,
          expectedSeq,
        ) as Row | undefined;
      } catch (error) {
        if (/malformed JSON/i.test((error as Error).message))
          throw corruptRow('run', runId, ['the stored header is not JSON']);
        throw error;
      }
      if (updated === undefined) this.#refuseAppend(tenant, runId, expectedSeq);
      for (const event of events) this.#s.insertEvent.run(t, runId, event.seq, JSON.stringify(event));
      return headerAfterAppend(updated?.record, tenant, runId, seq);
    });
  }

  /** Why the conditional update matched no row: no run, another writer's checkpoint, or finished. */
  #refuseAppend(tenant: string | undefined, runId: string, expectedSeq: number): never {
    const row = this.#s.getRun.get(tenantKey(tenant), runId) as Row | undefined;
    if (row === undefined) throw runNotFound(runId);
    const record = readRun(row.record, tenant, runId);
    if (record.seq !== expectedSeq) throw runConflict(runId, expectedSeq, record.seq);
    throw runFinished(runId, record.status);
  }

  async get(tenant: string | undefined, runId: string): Promise<RunRecord | undefined> {
    const row = this.#s.getRun.get(tenantKey(tenant), runId) as Row | undefined;
    return row === undefined ? undefined : readRun(row.record, tenant, runId);
  }

  async events(tenant: string | undefined, runId: string, afterSeq = 0, limit?: number): Promise<RunEvent[]> {
    const rows = this.#s.events.all(tenantKey(tenant), runId, afterSeq, limit ?? -1) as Row[];
    return rows.map((r) => readEvent(r.event, runId, Number(r.seq)));
  }

  async list(tenant: string | undefined, options: ListRunsOptions = {}): Promise<RunRecord[]> {
    const limit = pageLimit(options.limit);
    const rows = this.#s.listRuns.all(
      tenantKey(tenant),
      options.agentId ?? null,
      options.status ?? null,
      options.before ?? null,
      limit,
    ) as Row[];
    return rows.map((r) => readRun(r.record, tenant, String(r.id)));
  }

  async unfinished(options: { owner?: string; limit?: number; after?: string } = {}): Promise<RunRecord[]> {
    const rows = this.#s.unfinished.all(
      options.after ?? '',
      options.owner ?? null,
      pageLimit(options.limit),
    ) as Row[];
    return rows.map((r) => readRun(r.record, r.tenant === '' ? undefined : String(r.tenant), String(r.id)));
  }

  async putApproval(approval: ApprovalRecord): Promise<void> {
    this.#open();
    const inserted = this.#s.insertApproval.run(
      tenantKey(approval.tenant),
      approval.id,
      approval.runId,
      approval.status,
      approval.expiresAt ?? null,
      approval.decidedAt ?? null,
      JSON.stringify(approval),
    );
    if (inserted.changes === 0) throw alreadyExists('Approval', approval.id);
  }

  async getApproval(tenant: string | undefined, approvalId: string): Promise<ApprovalRecord | undefined> {
    const row = this.#s.getApproval.get(tenantKey(tenant), approvalId) as Row | undefined;
    return row === undefined ? undefined : readApproval(row.record, tenant, approvalId);
  }

  async listApprovals(
    tenant: string | undefined,
    options: ListApprovalsOptions = {},
  ): Promise<ApprovalRecord[]> {
    const rows = this.#s.listApprovals.all(
      tenantKey(tenant),
      options.status ?? null,
      options.runId ?? null,
      options.after ?? '',
      pageLimit(options.limit),
    ) as Row[];
    return rows.map((r) => readApproval(r.record, tenant, String(r.id)));
  }

  async dueApprovals(now: number, limit?: number): Promise<ApprovalRecord[]> {
    const rows = this.#s.dueApprovals.all(now, pageLimit(limit)) as Row[];
    return rows.map((r) =>
      readApproval(r.record, r.tenant === '' ? undefined : String(r.tenant), String(r.id)),
    );
  }

  async decideApproval(
    tenant: string | undefined,
    approvalId: string,
    decision: ApprovalDecision,
  ): Promise<ApprovalRecord> {
    this.#open();
    const t = tenantKey(tenant);
    return this.#transaction(() => {
      const row = this.#s.getApproval.get(t, approvalId) as Row | undefined;
      if (row === undefined) throw approvalNotFound(approvalId);
      const approval = readApproval(row.record, tenant, approvalId);
      if (approval.status !== 'pending') throw approvalDecided(approval);
      const decided = applyDecision(approval, decision);
      // The status check in the WHERE makes it one decision even across processes.
      const updated = this.#s.decideApproval.run(
        decided.status,
        decided.decidedAt ?? null,
        JSON.stringify(decided),
        t,
        approvalId,
      );
      if (updated.changes === 0) throw approvalDecided(approval);
      return decided;
    });
  }

  async getConversation(tenant: string | undefined, agentId: string): Promise<Conversation | undefined> {
    const row = this.#s.getConversation.get(tenantKey(tenant), agentId) as Row | undefined;
    return row === undefined ? undefined : readConversation(row.conversation, agentId);
  }

  async putConversation(
    tenant: string | undefined,
    agentId: string,
    conversation: Conversation,
  ): Promise<void> {
    this.#open();
    const text = JSON.stringify(conversation);
    await this.#batched(() => this.#s.putConversation.run(tenantKey(tenant), agentId, text));
  }

  async deleteConversation(tenant: string | undefined, agentId: string): Promise<boolean> {
    return this.#s.deleteConversation.run(tenantKey(tenant), agentId).changes > 0;
  }

  async sweep(options: SweepOptions): Promise<{ runs: number; events: number; approvals: number }> {
    this.#open();
    return this.#transaction(() => {
      let events = 0;
      const doomed = this.#s.doomedRuns.all(options.runsFinishedBefore, options.limit) as Row[];
      for (const r of doomed) {
        events += Number(this.#s.deleteEvents.run(String(r.tenant), String(r.id)).changes);
        this.#s.deleteRun.run(String(r.tenant), String(r.id));
      }
      const old = this.#s.oldEventRuns.all(options.eventsFinishedBefore, options.limit) as Row[];
      for (const r of old) {
        events += Number(this.#s.deleteEvents.run(String(r.tenant), String(r.id)).changes);
        this.#s.markSwept.run(String(r.tenant), String(r.id));
      }
      const approvals = Number(
        this.#s.sweepApprovals.run(options.approvalsDecidedBefore, options.limit).changes,
      );
      return { runs: doomed.length, events, approvals };
    });
  }

  async purgeTenant(tenant: string): Promise<RunStorePurge> {
    this.#open();
    return this.#transaction(() => {
      this.#s.purgeEvents.run(tenant);
      return {
        runs: Number(this.#s.purgeRuns.run(tenant).changes),
        approvals: Number(this.#s.purgeApprovals.run(tenant).changes),
        conversations: Number(this.#s.purgeConversations.run(tenant).changes),
      };
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#immediate !== undefined) {
      clearImmediate(this.#immediate);
      this.#flush();
    }
    this.#db.close();
  }

  /**
   * Runs `work` in the next group commit: the creates and appends of one turn of the event loop
   * (many agents' steps land together) share one transaction, each in a savepoint of its own, so
   * one refused append leaves the others. Resolves once the transaction is committed.
   */
  #batched<T>(work: () => T): Promise<T> {
    const { promise, resolve, reject } = Promise.withResolvers<T>();
    this.#queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
    this.#immediate ??= setImmediate(() => this.#flush());
    return promise;
  }

  #flush(): void {
    this.#immediate = undefined;
    const ops = this.#queue;
    this.#queue = [];
    const settled: Array<() => void> = [];
    try {
      this.#s.begin.run();
      for (const op of ops) {
        this.#s.savepoint.run();
        try {
          const value = op.work();
          this.#s.release.run();
          settled.push(() => op.resolve(value));
        } catch (error) {
          this.#s.rollbackTo.run();
          this.#s.release.run();
          settled.push(() => op.reject(error));
        }
      }
      this.#s.commit.run();
    } catch (error) {
      if (this.#db.isTransaction) this.#s.rollback.run();
      const failure = new RunsError(
        'RUN_STORE_UNAVAILABLE',
        `The run store could not commit: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
      for (const op of ops) op.reject(failure);
      return;
    }
    for (const settle of settled) settle();
  }

  #open(): void {
    if (this.#closed) throw new RunsError('RUN_STORE_UNAVAILABLE', 'The run store is closed.');
  }

  #transaction<T>(work: () => T): T {
    this.#s.begin.run();
    try {
      const result = work();
      this.#s.commit.run();
      return result;
    } catch (error) {
      this.#s.rollback.run();
      throw error;
    }
  }
}

function prepare(db: DatabaseSync) {
  const p = (sql: string): StatementSync => db.prepare(sql);
  return {
    begin: p('BEGIN IMMEDIATE'),
    savepoint: p('SAVEPOINT op'),
    release: p('RELEASE op'),
    rollbackTo: p('ROLLBACK TO op'),
    commit: p('COMMIT'),
    rollback: p('ROLLBACK'),
    insertRun: p(
      'INSERT OR IGNORE INTO runs (tenant, id, agent_id, status, owner, seq, finished_at, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    insertEvent: p('INSERT INTO run_events (tenant, run_id, seq, event) VALUES (?, ?, ?, ?)'),
    getRun: p('SELECT record FROM runs WHERE tenant = ? AND id = ?'),
    appendRun: p(
      `UPDATE runs SET status = coalesce(?1, status), owner = coalesce(?2, owner), seq = ?3,
       finished_at = coalesce(?4, finished_at), record = json_patch(record, ?5)
       WHERE tenant = ?6 AND id = ?7 AND seq = ?8 AND status NOT IN ('completed', 'failed', 'cancelled')
       RETURNING record`,
    ),
    updateRun: p(
      'UPDATE runs SET status = ?, owner = ?, seq = ?, finished_at = ?, record = ? WHERE tenant = ? AND id = ?',
    ),
    events: p(
      'SELECT seq, event FROM run_events WHERE tenant = ? AND run_id = ? AND seq > ? ORDER BY seq LIMIT ?',
    ),
    listRuns: p(
      `SELECT id, record FROM runs WHERE tenant = ?1 AND (?2 IS NULL OR agent_id = ?2) AND (?3 IS NULL OR status = ?3)
       AND (?4 IS NULL OR id < ?4) ORDER BY id DESC LIMIT ?5`,
    ),
    unfinished: p(
      'SELECT tenant, id, record FROM runs WHERE finished_at IS NULL AND id > ?1 AND (?2 IS NULL OR owner = ?2) ORDER BY id LIMIT ?3',
    ),
    insertApproval: p(
      'INSERT OR IGNORE INTO approvals (tenant, id, run_id, status, expires_at, decided_at, record) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    getApproval: p('SELECT record FROM approvals WHERE tenant = ? AND id = ?'),
    listApprovals: p(
      `SELECT id, record FROM approvals WHERE tenant = ?1 AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR run_id = ?3)
       AND id > ?4 ORDER BY id LIMIT ?5`,
    ),
    dueApprovals: p(
      "SELECT tenant, id, record FROM approvals WHERE status = 'pending' AND expires_at <= ? ORDER BY id LIMIT ?",
    ),
    decideApproval: p(
      "UPDATE approvals SET status = ?, decided_at = ?, record = ? WHERE tenant = ? AND id = ? AND status = 'pending'",
    ),
    getConversation: p('SELECT conversation FROM conversations WHERE tenant = ? AND agent_id = ?'),
    putConversation: p(
      'INSERT INTO conversations (tenant, agent_id, conversation) VALUES (?, ?, ?) ON CONFLICT (tenant, agent_id) DO UPDATE SET conversation = excluded.conversation',
    ),
    deleteConversation: p('DELETE FROM conversations WHERE tenant = ? AND agent_id = ?'),
    doomedRuns: p('SELECT tenant, id FROM runs WHERE finished_at IS NOT NULL AND finished_at <= ? LIMIT ?'),
    oldEventRuns: p(
      'SELECT tenant, id FROM runs WHERE finished_at IS NOT NULL AND finished_at <= ? AND events_swept = 0 LIMIT ?',
    ),
    deleteEvents: p('DELETE FROM run_events WHERE tenant = ? AND run_id = ?'),
    deleteRun: p('DELETE FROM runs WHERE tenant = ? AND id = ?'),
    markSwept: p('UPDATE runs SET events_swept = 1 WHERE tenant = ? AND id = ?'),
    sweepApprovals: p(
      'DELETE FROM approvals WHERE (tenant, id) IN (SELECT tenant, id FROM approvals WHERE decided_at IS NOT NULL AND decided_at <= ? LIMIT ?)',
    ),
    purgeEvents: p('DELETE FROM run_events WHERE tenant = ?'),
    purgeRuns: p('DELETE FROM runs WHERE tenant = ?'),
    purgeApprovals: p('DELETE FROM approvals WHERE tenant = ?'),
    purgeConversations: p('DELETE FROM conversations WHERE tenant = ?'),
  };
}
