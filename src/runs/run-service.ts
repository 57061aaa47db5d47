import { currentTenantId, withoutTenant, withTenant } from '../context/index.ts';
import { AgentfleetError, InvalidOptionsError } from '../errors/index.ts';
import { checkEditedArguments } from './edited-arguments.ts';
import { approvalNotFound, RunsError, runNotFound } from './errors.ts';
import { type ApprovalRecord, isFinished, type RunEvent, type RunRecord } from './run-schemas.ts';
import type { ListApprovalsOptions, ListRunsOptions, RunStore } from './run-store.ts';
import { WatchedRunStore } from './watched-run-store.ts';

/** What the service needs from the node: sending a message to an agent as a step of a run. */
export interface RunHost {
  /**
   * Sends `input` to the current tenant's agent `agentId` as run `runId` (`resume`: from its
   * checkpoints), creating the agent from `definition` and `config` when it is gone (a restart).
   */
  send(
    target: { agentId: string; definition?: string; config?: unknown },
    input: string,
    options: {
      runId: string;
      resume: boolean;
      signal: AbortSignal;
      onEvent?: (part: unknown) => void;
      /** The service's store and node id, for agents whose cognition has no store of its own. */
      store: RunStore;
      owner: string;
    },
  ): Promise<unknown>;
  /** Reports a failure of background work (a resume that failed). */
  report?(error: unknown, run: RunRecord): void;
}

/** Options of `RunService`. */
export interface RunServiceOptions {
  store: RunStore;
  host: RunHost;
  /** This node's id: runs it owns are resumed when it starts. */
  owner: string;
  /** Finished runs are deleted this long after they finish, ms. Default 7 days. */
  runTtlMs?: number;
  /** Events of finished runs are deleted this long after, ms (the header stays). Default 1 hour. */
  eventsTtlMs?: number;
  /** How often expired approvals and runs are swept, ms. Default 10,000. */
  sweepEveryMs?: number;
  /** Runs resumed at once after a restart. Default 32. */
  resumeConcurrency?: number;
}

/** A person's answer to an approval request. */
export interface ApprovalAnswer {
  approve: boolean;
  /** Edited arguments (an object, or its JSON text), checked against the tool's schema. */
  arguments?: unknown;
  /** Why (a rejection's reason is told to the model). */
  reason?: string;
}

type Listener = (event: RunEvent | { live: unknown }) => void;

/**
 * Durable runs as a node offers them: read and list runs, stream their events, cancel them,
 * decide approvals (which resumes the run), resume this node's unfinished runs after a
 * restart, and expire approvals and old runs on one unref'd timer. Reads and decisions are in
 * the caller's tenant (`currentTenantId()`); another tenant's run or approval is not found.
 */
export class RunService {
  /** The store to give durable cognitions: it tells the service of every append. */
  readonly store: WatchedRunStore;
  readonly #host: RunHost;
  readonly #owner: string;
  readonly #runTtlMs: number;
  readonly #eventsTtlMs: number;
  readonly #sweepEveryMs: number;
  readonly #resumeConcurrency: number;
  /** Runs this process is running through the service, to cancel them here. */
  readonly #active = new Map<string, AbortController>();
  /** Runs running here per agent (`<tenant>/<agentId>`), so a node knows an agent is busy. */
  readonly #perAgent = new Map<string, number>();
  readonly #watchers = new Map<string, Set<Listener>>();
  readonly #background = new Set<Promise<unknown>>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: RunServiceOptions) {
    if (typeof options?.owner !== 'string' || options.owner === '')
      throw new InvalidOptionsError('RunService needs an owner (the node id).');
    this.store = new WatchedRunStore(options.store, (tenant, runId, events) =>
      this.#notify(tenant, runId, events),
    );
    this.#host = options.host;
    this.#owner = options.owner;
    this.#runTtlMs = options.runTtlMs ?? 7 * 24 * 3_600_000;
    this.#eventsTtlMs = options.eventsTtlMs ?? 3_600_000;
    this.#sweepEveryMs = options.sweepEveryMs ?? 10_000;
    this.#resumeConcurrency = options.resumeConcurrency ?? 32;
  }

  get owner(): string {
    return this.#owner;
  }

  /** Runs this process is running now. */
  get active(): number {
    return this.#active.size;
  }

  /**
   * Starts the sweep timer and resumes, in the background, every unfinished run this node owns
   * that is not waiting for a person (a run awaiting approval whose approvals were all decided
   * is not: the node stopped between the decision and the resume). Resolves with how many it resumes.
   */
  async start(): Promise<{ resuming: number }> {
    this.#timer ??= withoutTenant(() => setInterval(() => this.#track(this.sweep()), this.#sweepEveryMs));
    this.#timer.unref();
    const runs: RunRecord[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.store.unfinished({ owner: this.#owner, limit: 1_000, after });
      for (const run of page)
        if (run.status === 'running' || !(await this.#waitsForPerson(run))) runs.push(run);
      if (page.length < 1_000) break;
      after = page.at(-1)?.id;
    }
    this.#track(this.#resumeAll(runs));
    return { resuming: runs.length };
  }

  /** Runs of the caller's agent `agentId` running in this process now. */
  runningFor(agentId: string): number {
    return this.#perAgent.get(`${currentTenantId() ?? ''}/${agentId}`) ?? 0;
  }

  /**
   * Resumes the caller's run `runId` here if it is unfinished and waits for no person; resolves
   * with its output when it ran, undefined when there was nothing to do. @throws RunsError `RUN_NOT_FOUND`.
   */
  async resume(runId: string): Promise<unknown> {
    const run = await this.get(runId);
    if (isFinished(run.status) || this.#active.has(run.id)) return undefined;
    if (run.status !== 'running' && (await this.#waitsForPerson(run))) return undefined;
    return this.#resume(run);
  }

  /**
   * Resumes, in the background, every unfinished run of the caller's agent that waits for no
   * person (the agent was just activated on this node: its runs are this node's now).
   * Resolves with how many it resumes.
   */
  async resumeAgent(agentId: string): Promise<number> {
    const tenant = currentTenantId();
    const runs: RunRecord[] = [];
    for (const status of ['running', 'awaiting-approval'] as const) {
      let before: string | undefined;
      for (;;) {
        const page = await this.store.list(tenant, { agentId, status, limit: 1_000, before });
        for (const run of page)
          if (!this.#active.has(run.id) && (status === 'running' || !(await this.#waitsForPerson(run))))
            runs.push(run);
        if (page.length < 1_000) break;
        before = page.at(-1)?.id;
      }
    }
    this.#track(this.#resumeAll(runs));
    return runs.length;
  }

  /** The caller's run. @throws RunsError `RUN_NOT_FOUND`. */
  async get(runId: string): Promise<RunRecord> {
    const run = await this.store.get(currentTenantId(), runId);
    if (run === undefined) throw runNotFound(runId);
    return run;
  }

  list(options?: ListRunsOptions): Promise<RunRecord[]> {
    return this.store.list(currentTenantId(), options);
  }

  /** The run's checkpoint events after `afterSeq`. @throws RunsError `RUN_NOT_FOUND`. */
  async events(runId: string, afterSeq = 0, limit?: number): Promise<RunEvent[]> {
    await this.get(runId);
    return this.store.events(currentTenantId(), runId, afterSeq, limit);
  }

  /** Calls `listener` with each new checkpoint event of the run and each live part this node streams; returns the unsubscribe. */
  watch(runId: string, listener: Listener): () => void {
    const key = `${currentTenantId() ?? ''}/${runId}`;
    let set = this.#watchers.get(key);
    if (set === undefined) {
      set = new Set();
      this.#watchers.set(key, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#watchers.delete(key);
    };
  }

  /**
   * Starts a durable run on the caller's agent: a disconnect of whoever asked does not cancel
   * it (`cancel` does). Resolves with the agent's reply.
   */
  send(
    agentId: string,
    input: string,
    options: { runId: string; onEvent?: (part: unknown) => void },
  ): Promise<unknown> {
    return this.#run({ agentId }, input, options.runId, false, options.onEvent);
  }

  listApprovals(options?: ListApprovalsOptions): Promise<ApprovalRecord[]> {
    return this.store.listApprovals(currentTenantId(), options);
  }

  async getApproval(approvalId: string): Promise<ApprovalRecord> {
    const approval = await this.store.getApproval(currentTenantId(), approvalId);
    if (approval === undefined) throw approvalNotFound(approvalId);
    return approval;
  }

  /**
   * Approves (maybe with edited arguments) or rejects a pending approval, then resumes its run
   * in the background once nothing else of it is pending.
   * @throws RunsError `APPROVAL_NOT_FOUND`, `APPROVAL_DECIDED`, `APPROVAL_ARGUMENTS_INVALID`.
   */
  async decide(approvalId: string, answer: ApprovalAnswer): Promise<ApprovalRecord> {
    const tenant = currentTenantId();
    const approval = await this.getApproval(approvalId);
    if (approval.status !== 'pending')
      throw new RunsError('APPROVAL_DECIDED', `Approval "${approvalId}" is already ${approval.status}.`, {
        details: { approvalId, status: approval.status },
      });
    let edited: string | undefined;
    if (answer.arguments !== undefined) {
      if (!answer.approve)
        throw new RunsError('APPROVAL_ARGUMENTS_INVALID', 'Edited arguments only go with an approval.');
      edited = typeof answer.arguments === 'string' ? answer.arguments : JSON.stringify(answer.arguments);
      checkEditedArguments(edited, approval.schema);
    }
    const decided = await this.store.decideApproval(tenant, approvalId, {
      status: answer.approve ? 'approved' : 'rejected',
      at: Date.now(),
      ...(edited === undefined ? {} : { arguments: edited }),
      ...(answer.reason === undefined ? {} : { reason: answer.reason }),
    });
    this.#track(this.#resumeIfReady(tenant, decided.runId));
    return decided;
  }

  /**
   * Cancels the caller's run: stops it here if it runs here (elsewhere, at its next checkpoint)
   * and rejects what it waits for. @throws RunsError `RUN_NOT_FOUND`, `RUN_FINISHED`.
   */
  async cancel(runId: string, reason = 'cancelled'): Promise<RunRecord> {
    const tenant = currentTenantId();
    for (let attempt = 0; ; attempt++) {
      const run = await this.get(runId);
      if (isFinished(run.status))
        throw new RunsError('RUN_FINISHED', `Run "${runId}" is already ${run.status}.`, {
          details: { runId, status: run.status },
        });
      try {
        const now = Date.now();
        const error = { code: 'RUN_CANCELLED', message: reason };
        const cancelled = await this.store.append(
          tenant,
          runId,
          run.seq,
          [{ seq: run.seq + 1, at: now, body: { type: 'status', status: 'cancelled', error } }],
          { status: 'cancelled', finishedAt: now, error, updatedAt: now },
        );
        this.#active.get(runId)?.abort(new RunsError('RUN_FINISHED', `Run "${runId}" was cancelled.`));
        for (const a of await this.store.listApprovals(tenant, { runId, status: 'pending' }))
          await this.store
            .decideApproval(tenant, a.id, { status: 'rejected', at: now, reason: 'the run was cancelled' })
            .catch(() => undefined);
        return cancelled;
      } catch (error) {
        // The run moved on between the read and the write: read it again (a few times).
        if (!(AgentfleetError.isInstance(error) && error.code === 'RUN_CONFLICT') || attempt >= 4)
          throw error;
      }
    }
  }

  /** Expires due approvals (resuming their runs) and deletes what outlived its TTL. */
  async sweep(now = Date.now()): Promise<void> {
    if (this.#closed) return;
    for (const approval of await this.store.dueApprovals(now, 1_000)) {
      try {
        await this.store.decideApproval(approval.tenant, approval.id, { status: 'expired', at: now });
        this.#track(this.#resumeIfReady(approval.tenant, approval.runId));
      } catch {
        // Decided meanwhile (elsewhere): nothing to expire.
      }
    }
    await this.store.sweep({
      runsFinishedBefore: now - this.#runTtlMs,
      eventsFinishedBefore: now - this.#eventsTtlMs,
      approvalsDecidedBefore: now - this.#runTtlMs,
      limit: 10_000,
    });
  }

  /** Stops the timer and waits for background resumes to settle; the store is the caller's to close. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    for (const controller of this.#active.values())
      controller.abort(new RunsError('RUN_STORE_UNAVAILABLE', 'The node is closing.'));
    await Promise.allSettled([...this.#background]);
    this.#watchers.clear();
  }

  async #resumeIfReady(tenant: string | undefined, runId: string): Promise<void> {
    const run = await this.store.get(tenant, runId);
    if (run === undefined || run.status !== 'awaiting-approval') return;
    if (await this.#waitsForPerson(run)) return;
    await this.#resume(run);
  }

  /** Whether some approval of the run is still pending. */
  async #waitsForPerson(run: RunRecord): Promise<boolean> {
    const pending = await this.store.listApprovals(run.tenant, {
      runId: run.id,
      status: 'pending',
      limit: 1,
    });
    return pending.length > 0;
  }

  async #resumeAll(runs: RunRecord[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < runs.length && !this.#closed) await this.#resume(runs[next++] as RunRecord);
    };
    await Promise.all(Array.from({ length: Math.min(this.#resumeConcurrency, runs.length) }, worker));
  }

  async #resume(run: RunRecord): Promise<unknown> {
    if (this.#closed || this.#active.has(run.id)) return undefined;
    try {
      const inTenant = <T>(fn: () => T): T =>
        run.tenant === undefined ? withoutTenant(fn) : withTenant(run.tenant, fn);
      await inTenant(async () => {
        const [start] = await this.store.events(run.tenant, run.id, 0, 1);
        const body = start?.body;
        const input = body?.type === 'start' ? body.input : '';
        const config = body?.type === 'start' ? body.agentConfig : undefined;
        return this.#run({ agentId: run.agentId, definition: run.definition, config }, input, run.id, true);
      });
    } catch (error) {
      this.#host.report?.(error, run);
      return undefined;
    }
  }

  async #run(
    target: { agentId: string; definition?: string; config?: unknown },
    input: string,
    runId: string,
    resume: boolean,
    onEvent?: (part: unknown) => void,
  ): Promise<unknown> {
    const controller = new AbortController();
    this.#active.set(runId, controller);
    const key = `${currentTenantId() ?? ''}/${runId}`;
    const agentKey = `${currentTenantId() ?? ''}/${target.agentId}`;
    this.#perAgent.set(agentKey, (this.#perAgent.get(agentKey) ?? 0) + 1);
    const live = (part: unknown) => {
      onEvent?.(part);
      for (const listener of this.#watchers.get(key) ?? []) listener({ live: part });
    };
    try {
      return await this.#host.send(target, input, {
        runId,
        resume,
        signal: controller.signal,
        // Streaming costs more than one plain response: only when someone listens.
        ...(onEvent !== undefined || this.#watchers.has(key) ? { onEvent: live } : {}),
        store: this.store,
        owner: this.#owner,
      });
    } finally {
      this.#active.delete(runId);
      const left = (this.#perAgent.get(agentKey) ?? 1) - 1;
      if (left === 0) this.#perAgent.delete(agentKey);
      else this.#perAgent.set(agentKey, left);
    }
  }

  #notify(tenant: string | undefined, runId: string, events: readonly RunEvent[]): void {
    const set = this.#watchers.get(`${tenant ?? ''}/${runId}`);
    if (set === undefined) return;
    for (const event of events) for (const listener of set) listener(event);
  }

  #track(work: Promise<unknown>): void {
    const tracked = work.catch(() => undefined).finally(() => this.#background.delete(tracked));
    this.#background.add(tracked);
  }
}
