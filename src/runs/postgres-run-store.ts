import type pg from 'pg';
import type { z } from 'zod';
import { parseOptions } from '../errors/index.ts';
import { openPgPool, pgStoreOptionsSchema } from '../sql/index.ts';
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
import { migrateRuns } from './postgres-run-migrations.ts';
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

/** Pool of 4, statements up to 10 s (each call is one short transaction). */
const optionsSchema = pgStoreOptionsSchema({ maxConnections: 4, queryTimeoutMs: 10_000 });

/** Options of `PostgresRunStore.open`. */
export type PostgresRunStoreOptions = z.input<typeof optionsSchema>;

type Row = Record<string, string | number | null>;
type Tx = pg.PoolClient;

const UNFINISHED = "status IN ('running', 'awaiting-approval')";
const fromKey = (t: unknown): string | undefined => (t === '' ? undefined : String(t));

/**
 * Runs in PostgreSQL, shared by every node of a cluster. Each append is one transaction that
 * locks the run's header (`SELECT … FOR UPDATE`), checks its seq, inserts only the new events
 * and rewrites the small header; an approval is decided under the same lock and only while it
 * is still pending, so of two nodes deciding at once one wins. Every call is bounded by
 * `connectTimeoutMs` and `queryTimeoutMs`; a lost server is `RUN_STORE_UNAVAILABLE` with the
 * driver's error as its cause. Nothing is cached in memory.
 */
export class PostgresRunStore implements RunStore {
  readonly #pool: pg.Pool;
  readonly #runs: string;
  readonly #events: string;
  readonly #approvals: string;
  readonly #conversations: string;
  #closed: Promise<void> | undefined;

  private constructor(pool: pg.Pool, schema: string) {
    this.#pool = pool;
    this.#runs = `${schema}.agentfleet_runs`;
    this.#events = `${schema}.agentfleet_run_events`;
    this.#approvals = `${schema}.agentfleet_approvals`;
    this.#conversations = `${schema}.agentfleet_conversations`;
  }

  /**
   * Connects and applies the store's migrations (idempotent, safe from many nodes at once).
   * @throws InvalidOptionsError for bad options; RunsError `RUN_STORE_UNAVAILABLE` when the
   * server cannot be reached or a migration fails.
   */
  static async open(options: PostgresRunStoreOptions = {}): Promise<PostgresRunStore> {
    const o = parseOptions('PostgreSQL run store', optionsSchema, options);
    const pool = openPgPool(o, 'agentfleet-runs');
    try {
      const client = await pool.connect();
      try {
        await migrateRuns(client, o.schema);
        client.release();
      } catch (error) {
        client.release(true);
        throw error;
      }
    } catch (error) {
      await pool.end().catch(() => {});
      throw unavailable('Cannot open the PostgreSQL run store', error);
    }
    return new PostgresRunStore(pool, o.schema);
  }

  async create(run: RunRecord, events: readonly RunEvent[]): Promise<void> {
    const t = tenantKey(run.tenant);
    await this.#transaction(async (tx) => {
      const inserted = await tx.query(
        `INSERT INTO ${this.#runs} (tenant, id, agent_id, status, owner, seq, finished_at, record)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant, id) DO NOTHING`,
        [
          t,
          run.id,
          run.agentId,
          run.status,
          run.owner ?? null,
          run.seq,
          run.finishedAt ?? null,
          JSON.stringify(run),
        ],
      );
      if (inserted.rowCount === 0) throw alreadyExists('Run', run.id);
      if (events.length > 0) await tx.query(this.#insertEvents(''), [t, run.id, ...eventColumns(events)]);
    });
  }

  async append(
    tenant: string | undefined,
    runId: string,
    expectedSeq: number,
    events: readonly RunEvent[],
    patch: RunPatch & { updatedAt: number },
  ): Promise<RunRecord> {
    const t = tenantKey(tenant);
    const seq = expectedSeq + events.length;
    // One statement, so one round trip: the conditional UPDATE is the compare-and-set (seq as
    // read, not finished) and merges the patch into the stored header (jsonb ||); the events are
    // inserted only if it matched. A statement is atomic, so no transaction is needed.
    let rows: Row[];
    try {
      ({ rows } = await this.#query<Row>(
        `WITH header AS (
           UPDATE ${this.#runs} SET status = coalesce($5, status), owner = coalesce($6, owner), seq = $7,
             finished_at = coalesce($8, finished_at), record = (record::jsonb || $9::jsonb)::text
           WHERE tenant = $1 AND id = $2 AND seq = $10 AND status NOT IN ('completed', 'failed', 'cancelled')
           RETURNING record),
         events AS (
           INSERT INTO ${this.#events} (tenant, run_id, seq, event)
           SELECT $1, $2, s, e FROM unnest($3::int[], $4::text[]) AS u(s, e) WHERE EXISTS (SELECT 1 FROM header))
         SELECT record FROM header`,
        [
          t,
          runId,
          ...eventColumns(events),
          patch.status ?? null,
          patch.owner ?? null,
          seq,
          patch.finishedAt ?? null,
          JSON.stringify({ ...patch, seq }),
          expectedSeq,
        ],
      ));
    } catch (error) {
      if (
        /invalid input syntax for type json/i.test(
          String((error as { cause?: Error }).cause?.message ?? (error as Error).message),
        )
      )
        throw corruptRow('run', runId, ['the stored header is not JSON']);
      throw error;
    }
    if (rows[0] === undefined) return this.#refuseAppend(tenant, runId, expectedSeq);
    return headerAfterAppend(rows[0].record, tenant, runId, seq);
  }

  /** Why the conditional update matched no row: no run, another writer's checkpoint, or finished. */
  async #refuseAppend(tenant: string | undefined, runId: string, expectedSeq: number): Promise<never> {
    const record = await this.get(tenant, runId);
    if (record === undefined) throw runNotFound(runId);
    if (record.seq !== expectedSeq) throw runConflict(runId, expectedSeq, record.seq);
    throw runFinished(runId, record.status);
  }

  async get(tenant: string | undefined, runId: string): Promise<RunRecord | undefined> {
    const { rows } = await this.#query<Row>(
      `SELECT record FROM ${this.#runs} WHERE tenant = $1 AND id = $2`,
      [tenantKey(tenant), runId],
    );
    return rows[0] === undefined ? undefined : readRun(rows[0].record, tenant, runId);
  }

  async events(tenant: string | undefined, runId: string, afterSeq = 0, limit?: number): Promise<RunEvent[]> {
    const { rows } = await this.#query<Row>(
      `SELECT seq, event FROM ${this.#events} WHERE tenant = $1 AND run_id = $2 AND seq > $3
       ORDER BY seq LIMIT $4`,
      [tenantKey(tenant), runId, afterSeq, limit ?? null],
    );
    return rows.map((r) => readEvent(r.event, runId, Number(r.seq)));
  }

  async list(tenant: string | undefined, options: ListRunsOptions = {}): Promise<RunRecord[]> {
    const values: unknown[] = [tenantKey(tenant), pageLimit(options.limit)];
    const where = ['tenant = $1'];
    const and = (sql: string, value: unknown) => {
      values.push(value);
      where.push(`${sql} $${values.length}`);
    };
    if (options.agentId !== undefined) and('agent_id =', options.agentId);
    if (options.status !== undefined) and('status =', options.status);
    if (options.before !== undefined) and('id <', options.before);
    const { rows } = await this.#query<Row>(
      `SELECT id, record FROM ${this.#runs} WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $2`,
      values,
    );
    return rows.map((r) => readRun(r.record, tenant, String(r.id)));
  }

  async unfinished(options: { owner?: string; limit?: number; after?: string } = {}): Promise<RunRecord[]> {
    const { rows } = await this.#query<Row>(
      `SELECT tenant, id, record FROM ${this.#runs} WHERE ${UNFINISHED} AND id > $1
       AND ($2::text IS NULL OR owner = $2) ORDER BY id LIMIT $3`,
      [options.after ?? '', options.owner ?? null, pageLimit(options.limit)],
    );
    return rows.map((r) => readRun(r.record, fromKey(r.tenant), String(r.id)));
  }

  async putApproval(approval: ApprovalRecord): Promise<void> {
    const inserted = await this.#query(
      `INSERT INTO ${this.#approvals} (tenant, id, run_id, status, expires_at, decided_at, record)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant, id) DO NOTHING`,
      [
        tenantKey(approval.tenant),
        approval.id,
        approval.runId,
        approval.status,
        approval.expiresAt ?? null,
        approval.decidedAt ?? null,
        JSON.stringify(approval),
      ],
    );
    if (inserted.rowCount === 0) throw alreadyExists('Approval', approval.id);
  }

  async getApproval(tenant: string | undefined, approvalId: string): Promise<ApprovalRecord | undefined> {
    const { rows } = await this.#query<Row>(
      `SELECT record FROM ${this.#approvals} WHERE tenant = $1 AND id = $2`,
      [tenantKey(tenant), approvalId],
    );
    return rows[0] === undefined ? undefined : readApproval(rows[0].record, tenant, approvalId);
  }

  async listApprovals(
    tenant: string | undefined,
    options: ListApprovalsOptions = {},
  ): Promise<ApprovalRecord[]> {
    const { rows } = await this.#query<Row>(
      `SELECT id, record FROM ${this.#approvals} WHERE tenant = $1 AND ($2::text IS NULL OR status = $2)
       AND ($3::text IS NULL OR run_id = $3) AND id > $4 ORDER BY id LIMIT $5`,
      [
        tenantKey(tenant),
        options.status ?? null,
        options.runId ?? null,
        options.after ?? '',
        pageLimit(options.limit),
      ],
    );
    return rows.map((r) => readApproval(r.record, tenant, String(r.id)));
  }

  async dueApprovals(now: number, limit?: number): Promise<ApprovalRecord[]> {
    const { rows } = await this.#query<Row>(
      `SELECT tenant, id, record FROM ${this.#approvals} WHERE status = 'pending' AND expires_at <= $1
       ORDER BY id LIMIT $2`,
      [now, pageLimit(limit)],
    );
    return rows.map((r) => readApproval(r.record, fromKey(r.tenant), String(r.id)));
  }

  async decideApproval(
    tenant: string | undefined,
    approvalId: string,
    decision: ApprovalDecision,
  ): Promise<ApprovalRecord> {
    const t = tenantKey(tenant);
    return this.#transaction(async (tx) => {
      const found = await tx.query<Row>(
        `SELECT record FROM ${this.#approvals} WHERE tenant = $1 AND id = $2 FOR UPDATE`,
        [t, approvalId],
      );
      const row = found.rows[0];
      if (row === undefined) throw approvalNotFound(approvalId);
      const approval = readApproval(row.record, tenant, approvalId);
      if (approval.status !== 'pending') throw approvalDecided(approval);
      const decided = applyDecision(approval, decision);
      // The row is locked; the status check keeps it one decision should the row be read unlocked.
      const updated = await tx.query(
        `UPDATE ${this.#approvals} SET status = $3, decided_at = $4, record = $5
         WHERE tenant = $1 AND id = $2 AND status = 'pending'`,
        [t, approvalId, decided.status, decided.decidedAt ?? null, JSON.stringify(decided)],
      );
      if (updated.rowCount === 0) throw approvalDecided(approval);
      return decided;
    });
  }

  async getConversation(tenant: string | undefined, agentId: string): Promise<Conversation | undefined> {
    const { rows } = await this.#query<Row>(
      `SELECT conversation FROM ${this.#conversations} WHERE tenant = $1 AND agent_id = $2`,
      [tenantKey(tenant), agentId],
    );
    return rows[0] === undefined ? undefined : readConversation(rows[0].conversation, agentId);
  }

  async putConversation(
    tenant: string | undefined,
    agentId: string,
    conversation: Conversation,
  ): Promise<void> {
    await this.#query(
      `INSERT INTO ${this.#conversations} (tenant, agent_id, conversation) VALUES ($1, $2, $3)
       ON CONFLICT (tenant, agent_id) DO UPDATE SET conversation = excluded.conversation`,
      [tenantKey(tenant), agentId, JSON.stringify(conversation)],
    );
  }

  async deleteConversation(tenant: string | undefined, agentId: string): Promise<boolean> {
    const deleted = await this.#query(
      `DELETE FROM ${this.#conversations} WHERE tenant = $1 AND agent_id = $2`,
      [tenantKey(tenant), agentId],
    );
    return (deleted.rowCount ?? 0) > 0;
  }

  async sweep(options: SweepOptions): Promise<{ runs: number; events: number; approvals: number }> {
    return this.#transaction(async (tx) => {
      // SKIP LOCKED: a run another node is writing, or another sweeper holds, waits for the next sweep.
      const doomed = await tx.query<Row>(
        `WITH doomed AS (
           DELETE FROM ${this.#runs} WHERE (tenant, id) IN (
             SELECT tenant, id FROM ${this.#runs} WHERE finished_at IS NOT NULL AND finished_at <= $1
             LIMIT $2 FOR UPDATE SKIP LOCKED)
           RETURNING tenant, id),
         gone AS (
           DELETE FROM ${this.#events} e USING doomed d WHERE e.tenant = d.tenant AND e.run_id = d.id
           RETURNING 1)
         SELECT (SELECT count(*) FROM doomed)::int AS runs, (SELECT count(*) FROM gone)::int AS events`,
        [options.runsFinishedBefore, options.limit],
      );
      const old = await tx.query<Row>(
        `WITH old AS (
           UPDATE ${this.#runs} SET events_swept = true WHERE (tenant, id) IN (
             SELECT tenant, id FROM ${this.#runs} WHERE finished_at IS NOT NULL AND finished_at <= $1
             AND NOT events_swept LIMIT $2 FOR UPDATE SKIP LOCKED)
           RETURNING tenant, id),
         gone AS (
           DELETE FROM ${this.#events} e USING old o WHERE e.tenant = o.tenant AND e.run_id = o.id
           RETURNING 1)
         SELECT count(*)::int AS events FROM gone`,
        [options.eventsFinishedBefore, options.limit],
      );
      const approvals = await tx.query(
        `DELETE FROM ${this.#approvals} WHERE (tenant, id) IN (
           SELECT tenant, id FROM ${this.#approvals} WHERE decided_at IS NOT NULL AND decided_at <= $1
           LIMIT $2 FOR UPDATE SKIP LOCKED)`,
        [options.approvalsDecidedBefore, options.limit],
      );
      return {
        runs: Number(doomed.rows[0]?.runs ?? 0),
        events: Number(doomed.rows[0]?.events ?? 0) + Number(old.rows[0]?.events ?? 0),
        approvals: approvals.rowCount ?? 0,
      };
    });
  }

  async purgeTenant(tenant: string): Promise<RunStorePurge> {
    return this.#transaction(async (tx) => {
      await tx.query(`DELETE FROM ${this.#events} WHERE tenant = $1`, [tenant]);
      const runs = await tx.query(`DELETE FROM ${this.#runs} WHERE tenant = $1`, [tenant]);
      const approvals = await tx.query(`DELETE FROM ${this.#approvals} WHERE tenant = $1`, [tenant]);
      const conversations = await tx.query(`DELETE FROM ${this.#conversations} WHERE tenant = $1`, [tenant]);
      return {
        runs: runs.rowCount ?? 0,
        approvals: approvals.rowCount ?? 0,
        conversations: conversations.rowCount ?? 0,
      };
    });
  }

  /** Ends the pool (waiting for calls in flight); idempotent. */
  close(): Promise<void> {
    this.#closed ??= this.#pool.end().catch(() => {});
    return this.#closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** `INSERT … SELECT FROM unnest($3, $4)` of events, as a CTE (`sep` ',') or alone (''). */
  #insertEvents(sep: '' | ','): string {
    const insert = `INSERT INTO ${this.#events} (tenant, run_id, seq, event)
      SELECT $1, $2, s, e FROM unnest($3::int[], $4::text[]) AS u(s, e)`;
    return sep === '' ? insert : `WITH events AS (${insert})`;
  }

  #open(): void {
    if (this.#closed !== undefined) throw new RunsError('RUN_STORE_UNAVAILABLE', 'The run store is closed.');
  }

  async #query<R extends pg.QueryResultRow>(sql: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    this.#open();
    try {
      return await this.#pool.query<R>(sql, values);
    } catch (error) {
      throw unavailable('A PostgreSQL run store query failed', error);
    }
  }

  /** Runs `work` in a transaction on one connection: committed if it returns, rolled back if it throws. */
  async #transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    this.#open();
    let tx: Tx;
    try {
      tx = await this.#pool.connect();
    } catch (error) {
      throw unavailable('Cannot reach the PostgreSQL run store', error);
    }
    try {
      await tx.query('BEGIN');
      const result = await work(tx);
      await tx.query('COMMIT');
      tx.release();
      return result;
    } catch (error) {
      // A store error (conflict, corrupt row) leaves a healthy connection; anything else may not.
      const healthy =
        error instanceof RunsError &&
        (await tx.query('ROLLBACK').then(
          () => true,
          () => false,
        ));
      tx.release(healthy ? undefined : true);
      if (error instanceof RunsError) throw error;
      throw unavailable('A PostgreSQL run store transaction failed', error);
    }
  }
}

/** The events as the two arrays `unnest` takes: seqs and JSON texts. */
function eventColumns(events: readonly RunEvent[]): [number[], string[]] {
  return [events.map((e) => e.seq), events.map((e) => JSON.stringify(e))];
}

function unavailable(what: string, error: unknown): RunsError {
  return new RunsError('RUN_STORE_UNAVAILABLE', `${what}: ${(error as Error).message}`, { cause: error });
}
