import { setTimeout as sleep } from 'node:timers/promises';
import type { KvEntry } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { checkKvStoreOptions } from '../bus/index.ts';
import { InvalidOptionsError } from '../errors/index.ts';
import {
  alreadyExists,
  approvalNotFound,
  RunsError,
  runConflict,
  runFinished,
  runNotFound,
} from './errors.ts';
import { applyDecision, approvalDecided } from './memory-run-store.ts';
import { live, RunBuckets, rowRef } from './nats-kv-buckets.ts';
import { eventKey, fromKvToken, kvToken, natsKvRunBuckets, rowKey } from './nats-kv-keys.ts';
import { pageLimit, tenantKey } from './paging.ts';
import { readApproval, readConversation, readEvent, readRun } from './read-rows.ts';
import {
  type ApprovalDecision,
  type ApprovalRecord,
  type Conversation,
  isFinished,
  type RunEvent,
  type RunPatch,
  type RunRecord,
} from './run-schemas.ts';
import type {
  ListApprovalsOptions,
  ListRunsOptions,
  RunStore,
  RunStorePurge,
  SweepOptions,
} from './run-store.ts';

/** Options of `NatsKvRunStore.open`: a connection to borrow, or servers to connect to. */
export interface NatsKvRunStoreOptions {
  /** A connection to use (not closed by `close()`). Give this or `servers`. */
  connection?: NatsConnection;
  /** Servers to connect to (the store owns that connection and closes it). */
  servers?: string | string[];
  /** Bucket names start with it (`<prefix>-runs`, `-approvals`, `-conversations`). Default `agentfleet`. */
  bucketPrefix?: string;
  /** Milliseconds any one request to the server may take before `RUN_STORE_UNAVAILABLE`. Default 5,000. */
  timeoutMs?: number;
  /** Replicas of each bucket's stream (on a cluster). Default 1. */
  replicas?: number;
}

const EMPTY = new Uint8Array(0);
/**
 * Attempts of an append or create that found another writer's event keys or lost its header
 * compare-and-set: the first two wait (WAIT_MS, then twice that) for a writer in flight to
 * commit, the third fences it (a writer that has not committed by then is likely dead).
 */
const ATTEMPTS = 4;
const WAIT_MS = 25;

/**
 * Runs in NATS JetStream KV, for fleets that already run NATS: three buckets (history 1) —
 * `<prefix>-runs` (headers `<tenant>.<run>` and events `<tenant>.<run>.<seq>` in ONE stream, so
 * their revisions are comparable), `<prefix>-approvals`, `<prefix>-conversations`.
 *
 * An append is optimistic on the header's KV revision `r`: it writes the new event keys, then
 * `update(header, next, r)` commits them. Readers return only events with `seq <= header.seq`,
 * so events of an append whose commit lost (or whose writer died) are never part of the run.
 * Event keys are never blindly overwritten: a key is created if absent; an existing one whose
 * revision is below `r` was written before the header's current revision, by an attempt based
 * on an older one whose commit can no longer succeed, so it is dead and is overwritten (CAS on
 * its revision); one above `r` may belong to an append in flight: the attempt waits for it to
 * commit (then it is a RUN_CONFLICT), and if it does not, "touches" the header (rewritten as is,
 * CAS `r`), so that append's commit fails, and starts over.
 * A committed event is thus never rewritten, and a dead writer's leftovers never block a run.
 *
 * Listing scans keys (stream info with a subject filter: one request per 100,000 keys), then
 * reads headers in batches of 64 until the page is full. Costs: `list` and `listApprovals`
 * read the tenant's keys; `unfinished` and `sweep` read every run header of every tenant;
 * `dueApprovals` every approval. Fine for thousands of runs; use PostgreSQL beyond that.
 * Deletes purge subjects from the stream (no delete markers left behind); `sweep` purges the
 * events of each run in its events window once per call (a request each, 0 when done before).
 * An append racing `purgeTenant` may leave event keys no header names (never read; purged by
 * the next `purgeTenant`). A value is bounded by the server's `max_payload` (1 MiB by default):
 * a larger event or conversation fails with `RUN_STORE_UNAVAILABLE`, the client's error attached.
 */
export class NatsKvRunStore implements RunStore {
  readonly #nc: NatsConnection;
  readonly #owned: boolean;
  readonly #b: RunBuckets;
  #closed = false;

  private constructor(nc: NatsConnection, owned: boolean, buckets: RunBuckets) {
    this.#nc = nc;
    this.#owned = owned;
    this.#b = buckets;
  }

  /**
   * Opens (creating if needed) the store's buckets.
   * @throws InvalidOptionsError for bad options; RunsError `RUN_STORE_UNAVAILABLE` when the
   * server cannot be reached or the buckets cannot be created.
   */
  static async open(options: NatsKvRunStoreOptions): Promise<NatsKvRunStore> {
    const prefix = options.bucketPrefix ?? 'agentfleet';
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(prefix))
      throw new InvalidOptionsError(`bucketPrefix must be 1 to 64 of [A-Za-z0-9_-]; got "${prefix}".`);
    const { timeout, replicas } = checkKvStoreOptions('NatsKvRunStore', options, {
      timeoutMs: 5_000,
      needsTarget: true,
    });
    let nc = options.connection;
    const owned = nc === undefined;
    try {
      nc ??= await connect({ servers: options.servers, timeout });
    } catch (error) {
      throw unavailable('connect', error);
    }
    try {
      const buckets = await RunBuckets.open(nc, natsKvRunBuckets(prefix), { timeout, replicas });
      return new NatsKvRunStore(nc, owned, buckets);
    } catch (error) {
      if (owned) await nc.close().catch(() => {});
      throw unavailable('open its buckets', error);
    }
  }

  async create(run: RunRecord, events: readonly RunEvent[]): Promise<void> {
    this.#open();
    const t = tenantKey(run.tenant);
    const key = rowKey(t, run.id);
    await this.#call('create a run', async () => {
      for (let attempt = 1; ; attempt++) {
        const slot = await this.#b.get('runs', key);
        if (live(slot)) throw runExists(run.id);
        // No header yet: a slot revision of 0, or of a reservation a fence or dead create left.
        const base = (slot as KvEntry | null)?.revision ?? 0;
        if (!(await this.#writeEvents(t, run.id, events, base))) {
          if (attempt === ATTEMPTS) throw runExists(run.id);
          // The fence: a reservation (an empty value, read as absent) makes a create in flight lose.
          await this.#waitOrFence(attempt, () => this.#b.cas('runs', key, EMPTY, base));
          continue;
        }
        if (await this.#b.cas('runs', key, JSON.stringify(run), base)) return;
        throw runExists(run.id);
      }
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
    const key = rowKey(t, runId);
    return this.#call('append to a run', async () => {
      for (let attempt = 1; ; attempt++) {
        const entry = await this.#b.get('runs', key);
        if (!live(entry)) throw runNotFound(runId);
        const record = readRun(entry.string(), tenant, runId);
        if (record.seq !== expectedSeq) throw runConflict(runId, expectedSeq, record.seq);
        if (isFinished(record.status)) throw runFinished(runId, record.status);
        if (!(await this.#writeEvents(t, runId, events, entry.revision))) {
          if (attempt === ATTEMPTS) throw runConflict(runId, expectedSeq, record.seq);
          // The fence: touching the header (rewritten as is) makes an append in flight lose its commit.
          await this.#waitOrFence(attempt, () => this.#b.cas('runs', key, entry.value, entry.revision));
          continue;
        }
        const next: RunRecord = { ...record, ...patch, seq: expectedSeq + events.length };
        // The commit: the events written above become the run's only if the header is unchanged.
        if (await this.#b.cas('runs', key, JSON.stringify(next), entry.revision)) return next;
        if (attempt === ATTEMPTS) throw runConflict(runId, expectedSeq, record.seq);
        // Lost to another writer (or a fence): start over; the re-read header says which.
      }
    });
  }

  async get(tenant: string | undefined, runId: string): Promise<RunRecord | undefined> {
    this.#open();
    const entry = await this.#call('read a run', () => this.#b.get('runs', rowKey(tenantKey(tenant), runId)));
    return live(entry) ? readRun(entry.string(), tenant, runId) : undefined;
  }

  async events(tenant: string | undefined, runId: string, afterSeq = 0, limit?: number): Promise<RunEvent[]> {
    this.#open();
    const t = tenantKey(tenant);
    return this.#call('read a run’s events', async () => {
      const header = await this.#b.get('runs', rowKey(t, runId));
      if (!live(header)) return [];
      const { seq } = readRun(header.string(), tenant, runId);
      // Only seq <= header.seq: keys past it are leftovers of appends that never committed.
      const seqs = (await this.#b.keys('runs', `${rowKey(t, runId)}.*`))
        .map((tokens) => Number(tokens[2]))
        .filter((n) => n > afterSeq && n <= seq)
        .sort((a, b) => a - b)
        .slice(0, limit);
      const found: RunEvent[] = [];
      const rows = seqs.map((n) => ({ key: eventKey(t, runId, n), seq: n }));
      await this.#b.scan('runs', rows, (value, row) => {
        found.push(readEvent(value, runId, row.seq));
        return true;
      });
      return found;
    });
  }

  async list(tenant: string | undefined, options: ListRunsOptions = {}): Promise<RunRecord[]> {
    this.#open();
    const limit = pageLimit(options.limit);
    const t = tenantKey(tenant);
    return this.#call('list runs', async () => {
      const ids = (await this.#b.keys('runs', `${kvToken(t)}.*`))
        .map((tokens) => fromKvToken(tokens[1] as string))
        .filter((id) => options.before === undefined || id < options.before)
        .sort()
        .reverse();
      return this.#b.page(
        'runs',
        ids.map((id) => rowRef(t, id)),
        limit,
        (value, row) => readRun(value, row.tenant === '' ? undefined : row.tenant, row.id),
        (r) =>
          (options.agentId === undefined || r.agentId === options.agentId) &&
          (options.status === undefined || r.status === options.status),
      );
    });
  }

  async unfinished(options: { owner?: string; limit?: number; after?: string } = {}): Promise<RunRecord[]> {
    this.#open();
    const limit = pageLimit(options.limit);
    return this.#call('list unfinished runs', async () => {
      const rows = (await this.#b.allRows('runs')).filter(
        (r) => options.after === undefined || r.id > options.after,
      );
      return this.#b.page(
        'runs',
        rows,
        limit,
        (value, row) => readRun(value, row.tenant === '' ? undefined : row.tenant, row.id),
        (r) => !isFinished(r.status) && (options.owner === undefined || r.owner === options.owner),
      );
    });
  }

  async putApproval(approval: ApprovalRecord): Promise<void> {
    this.#open();
    const key = rowKey(tenantKey(approval.tenant), approval.id);
    await this.#call('record an approval', async () => {
      if (!(await this.#b.cas('approvals', key, JSON.stringify(approval), 0)))
        throw alreadyExists('Approval', approval.id);
    });
  }

  async getApproval(tenant: string | undefined, approvalId: string): Promise<ApprovalRecord | undefined> {
    this.#open();
    const entry = await this.#call('read an approval', () =>
      this.#b.get('approvals', rowKey(tenantKey(tenant), approvalId)),
    );
    return live(entry) ? readApproval(entry.string(), tenant, approvalId) : undefined;
  }

  async listApprovals(
    tenant: string | undefined,
    options: ListApprovalsOptions = {},
  ): Promise<ApprovalRecord[]> {
    this.#open();
    const limit = pageLimit(options.limit);
    const t = tenantKey(tenant);
    return this.#call('list approvals', async () => {
      const ids = (await this.#b.keys('approvals', `${kvToken(t)}.*`))
        .map((tokens) => fromKvToken(tokens[1] as string))
        .filter((id) => options.after === undefined || id > options.after)
        .sort();
      return this.#b.page(
        'approvals',
        ids.map((id) => rowRef(t, id)),
        limit,
        (value, row) => readApproval(value, tenant, row.id),
        (a) =>
          (options.status === undefined || a.status === options.status) &&
          (options.runId === undefined || a.runId === options.runId),
      );
    });
  }

  async dueApprovals(now: number, limit?: number): Promise<ApprovalRecord[]> {
    this.#open();
    const max = pageLimit(limit);
    return this.#call('list due approvals', async () =>
      this.#b.page(
        'approvals',
        await this.#b.allRows('approvals'),
        max,
        (value, row) => readApproval(value, row.tenant === '' ? undefined : row.tenant, row.id),
        (a) => a.status === 'pending' && a.expiresAt !== undefined && a.expiresAt <= now,
      ),
    );
  }

  async decideApproval(
    tenant: string | undefined,
    approvalId: string,
    decision: ApprovalDecision,
  ): Promise<ApprovalRecord> {
    this.#open();
    const key = rowKey(tenantKey(tenant), approvalId);
    return this.#call('decide an approval', async () => {
      for (let attempt = 1; ; attempt++) {
        const entry = await this.#b.get('approvals', key);
        if (!live(entry)) throw approvalNotFound(approvalId);
        const approval = readApproval(entry.string(), tenant, approvalId);
        if (approval.status !== 'pending') throw approvalDecided(approval);
        const decided = applyDecision(approval, decision);
        // Compare-and-set on the revision read as pending: of two deciders, one wins; the
        // other re-reads and finds it decided.
        if (await this.#b.cas('approvals', key, JSON.stringify(decided), entry.revision)) return decided;
        if (attempt === ATTEMPTS) throw approvalDecided(approval);
      }
    });
  }

  async getConversation(tenant: string | undefined, agentId: string): Promise<Conversation | undefined> {
    this.#open();
    const entry = await this.#call('read a conversation', () =>
      this.#b.get('conversations', rowKey(tenantKey(tenant), agentId)),
    );
    return live(entry) ? readConversation(entry.string(), agentId) : undefined;
  }

  async putConversation(
    tenant: string | undefined,
    agentId: string,
    conversation: Conversation,
  ): Promise<void> {
    this.#open();
    await this.#call('write a conversation', () =>
      this.#b.put('conversations', rowKey(tenantKey(tenant), agentId), JSON.stringify(conversation)),
    );
  }

  async deleteConversation(tenant: string | undefined, agentId: string): Promise<boolean> {
    this.#open();
    return this.#call(
      'delete a conversation',
      async () => (await this.#b.purge('conversations', rowKey(tenantKey(tenant), agentId))) > 0,
    );
  }

  async sweep(options: SweepOptions): Promise<{ runs: number; events: number; approvals: number }> {
    this.#open();
    return this.#call('sweep', async () => {
      let budget = options.limit;
      let runs = 0;
      let events = 0;
      let approvals = 0;
      await this.#b.scan('runs', await this.#b.allRows('runs'), async (value, row) => {
        const { finishedAt } = readRun(value, row.tenant === '' ? undefined : row.tenant, row.id);
        if (finishedAt === undefined) return true;
        const whole = finishedAt <= options.runsFinishedBefore;
        if (!whole && finishedAt > options.eventsFinishedBefore) return true;
        // A finished run takes no appends, so purging its keys races with no writer. Events
        // first: a sweep cut short leaves a header, never events without one.
        const swept = await this.#b.purge('runs', `${row.key}.*`);
        events += swept;
        budget -= swept;
        if (whole) {
          await this.#b.purge('runs', row.key);
          runs++;
          budget--;
        }
        return budget > 0;
      });
      if (budget > 0)
        await this.#b.scan('approvals', await this.#b.allRows('approvals'), async (value, row) => {
          const a = readApproval(value, row.tenant === '' ? undefined : row.tenant, row.id);
          if (a.decidedAt === undefined || a.decidedAt > options.approvalsDecidedBefore) return true;
          approvals += await this.#b.purge('approvals', row.key);
          budget--;
          return budget > 0;
        });
      return { runs, events, approvals };
    });
  }

  async purgeTenant(tenant: string): Promise<RunStorePurge> {
    this.#open();
    const t = kvToken(tenant);
    return this.#call('delete a tenant', async () => {
      await this.#b.purge('runs', `${t}.*.*`);
      return {
        runs: await this.#b.purge('runs', `${t}.*`),
        approvals: await this.#b.purge('approvals', `${t}.*`),
        conversations: await this.#b.purge('conversations', `${t}.*`),
      };
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#owned) await this.#nc.close().catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Writes `events` at their keys for an attempt based on header revision `base`; false when
   * a key holds a value written at or after `base` (maybe an append in flight: fence, retry).
   */
  async #writeEvents(t: string, runId: string, events: readonly RunEvent[], base: number): Promise<boolean> {
    for (const event of events) {
      const key = eventKey(t, runId, event.seq);
      const value = JSON.stringify(event);
      if (await this.#b.cas('runs', key, value, 0)) continue;
      const existing = await this.#b.get('runs', key);
      const revision = existing?.revision ?? 0;
      if (revision === 0 || revision >= base) return false;
      // Written before the header's current revision: a dead attempt's, safe to overwrite.
      if (!(await this.#b.cas('runs', key, value, revision))) return false;
    }
    return true;
  }

  /** Before attempt `attempt + 1` of a blocked write: wait for the other writer, then fence it. */
  async #waitOrFence(attempt: number, fence: () => Promise<boolean>): Promise<void> {
    if (attempt < ATTEMPTS - 1) await sleep(WAIT_MS * attempt);
    else await fence();
  }

  async #call<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof RunsError || error instanceof InvalidOptionsError) throw error;
      throw unavailable(what, error);
    }
  }

  #open(): void {
    if (this.#closed) throw new RunsError('RUN_STORE_UNAVAILABLE', 'The run store is closed.');
  }
}

function runExists(runId: string): RunsError {
  return alreadyExists('Run', runId);
}

function unavailable(what: string, cause: unknown): RunsError {
  return new RunsError(
    'RUN_STORE_UNAVAILABLE',
    `The NATS run store could not ${what}: ${(cause as Error)?.message ?? String(cause)}`,
    { cause },
  );
}
