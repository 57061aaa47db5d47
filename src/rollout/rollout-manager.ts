import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { LeaseKeeper, type LeaseStore } from '../cluster/index.ts';
import { withoutTenant } from '../context/index.ts';
import { InvalidOptionsError, parseOptions } from '../errors/index.ts';
import { RolloutError, rolloutNotActive, rolloutNotFound, storeUnavailable, who } from './errors.ts';
import { judge, type RolloutCheckFn } from './gates.ts';
import { RolloutMirror } from './rollout-mirror.ts';
import { parseRolloutPlan, type RolloutPlanInput } from './rollout-plan.ts';
import {
  type DecisionKind,
  EMPTY_PAIR,
  type FiguresPair,
  isActive,
  MAX_HISTORY,
  mergeStepStats,
  type RolloutDecision,
  type RolloutRecord,
  type RunSample,
  rolloutKey,
  type StepStats,
} from './rollout-record.ts';
import type { RolloutStore } from './rollout-store.ts';
import type { RolloutTarget } from './rollout-target.ts';

const numbersSchema = z.object({
  /** Milliseconds between rounds (stats flushed, decisions judged). Default 1,000. */
  tickMs: z.number().int().min(10).max(3_600_000).default(1_000),
  /** Latest runs of the new version kept per node for function checks. Default 50. */
  sampleSize: z.number().int().min(0).max(1_000).default(50),
  node: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -'),
});

/** Options of `RolloutManager.open`. */
export interface RolloutManagerOptions {
  /** Where rollouts are shared (the cluster's, or a `MemoryRolloutStore` on one node). Not closed by `close()`. */
  store: RolloutStore;
  /** This node's id (1-64 of A-Z, a-z, 0-9, _ and -): its stats are stored under it, decisions name it. */
  node: string;
  target: RolloutTarget;
  /** Leases of the cluster: only the holder of `rollout.<tenant>.<definition>` judges that rollout. Without, this node judges every one. */
  leases?: LeaseStore;
  /** Milliseconds between rounds: each node flushes its stats, the decider judges. Default 1,000. */
  tickMs?: number;
  /** Latest runs of the new version kept per node for function checks. Default 50. */
  sampleSize?: number;
  /** Function checks by name, for plans' `{ type: 'function', name }` (every node should have the same). */
  checks?: Record<string, RolloutCheckFn>;
  /** Milliseconds since the epoch, for holds and history. Default `Date.now`. */
  clock?: () => number;
  /** Told of every decision, on the node that made it (once in the cluster): an event, a log line, a metric. */
  onDecision?: (record: RolloutRecord, decision: RolloutDecision) => void;
  /** Told of failures off the caller's path (store unreachable in a round, a target call that threw). */
  onError?: (error: unknown, what: string) => void;
}

/** A rollout as `status` shows it: the record (step, status, history) and the figures of its window now. */
export type RolloutView = RolloutRecord & { live: FiguresPair };

/**
 * Canary rollouts of agents from one version to another, in steps held for a duration and gated
 * on the new version's p99 latency, error rate and checks against the old version's over the
 * same window. A breach rolls back within one round. The state lives in a `RolloutStore` shared
 * by the cluster (compare-and-set writes, one decider per rollout by lease); every node applies
 * it to its own `RolloutTarget` and reports what it observes with `observe()`.
 */
export class RolloutManager {
  readonly node: string;
  readonly #store: RolloutStore;
  readonly #target: RolloutTarget;
  readonly #keeper: LeaseKeeper | undefined;
  readonly #checks: Readonly<Record<string, RolloutCheckFn>>;
  readonly #clock: () => number;
  readonly #onDecision: RolloutManagerOptions['onDecision'];
  readonly #onError: RolloutManagerOptions['onError'];
  readonly #sampleSize: number;
  readonly #tickMs: number;
  readonly #mirror: RolloutMirror;
  #watch: { close(): Promise<void> } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<void> | undefined;
  #closed = false;

  private constructor(options: RolloutManagerOptions) {
    const { tickMs, sampleSize, node } = parseOptions('RolloutManager', numbersSchema, {
      tickMs: options?.tickMs,
      sampleSize: options?.sampleSize,
      node: options?.node,
    });
    if (options.store === undefined || options.target === undefined)
      throw new InvalidOptionsError('RolloutManager needs a store and a target.');
    this.node = node;
    this.#tickMs = tickMs;
    this.#sampleSize = sampleSize;
    this.#store = options.store;
    this.#target = options.target;
    this.#checks = { ...options.checks };
    this.#clock = options.clock ?? Date.now;
    this.#onDecision = options.onDecision;
    this.#onError = options.onError;
    this.#mirror = new RolloutMirror(this.#target, sampleSize, this.#clock, (error, what) =>
      this.#error(error, what),
    );
    this.#keeper =
      options.leases === undefined ? undefined : new LeaseKeeper({ store: options.leases, owner: node });
  }

  /**
   * Makes a manager: it watches the store (applying every rollout there to the target) and
   * starts its round timer (unref'd).
   * @throws InvalidOptionsError for bad options; `ROLLOUT_STORE_UNAVAILABLE` when the watch cannot start.
   */
  static async open(options: RolloutManagerOptions): Promise<RolloutManager> {
    const manager = new RolloutManager(options);
    try {
      manager.#watch = await manager.#store.watch({
        change: (change) => void manager.#mirror.changed(change),
        invalid: (error) => manager.#error(error, 'read a stored rollout'),
      });
    } catch (error) {
      await manager.#keeper?.close();
      throw error;
    }
    manager.#timer = withoutTenant(() => setInterval(() => void manager.tick(), manager.#tickMs));
    manager.#timer.unref();
    return manager;
  }

  /**
   * Starts a rollout of a tenant's definition from its current version to `plan.to`.
   * @throws RolloutError `ROLLOUT_INVALID` (bad plan, unknown function check, already at that
   * version), `VERSION_NOT_FOUND` (no such version, or no current one), `ROLLOUT_EXISTS` (one
   * is running or paused for this definition).
   */
  async start(tenant: string, definition: string, plan: RolloutPlanInput): Promise<RolloutRecord> {
    this.#open();
    checkNames(tenant, definition);
    const p = parseRolloutPlan(plan);
    const unknown = p.checks.filter((c) => c.type === 'function' && !(c.name in this.#checks));
    if (unknown.length > 0)
      throw new RolloutError(
        'ROLLOUT_INVALID',
        `Invalid rollout plan: no check function named ${unknown.map((c) => c.name).join(', ')} (known: ${Object.keys(this.#checks).join(', ') || 'none'}).`,
        { details: { checks: unknown.map((c) => c.name) } },
      );
    if (!(await this.#target.hasVersion(tenant, definition, p.to)))
      throw new RolloutError('VERSION_NOT_FOUND', `${who(tenant, definition)} has no version ${p.to}.`, {
        details: { tenant, definition, version: p.to },
      });
    const from = await this.#target.currentVersion(tenant, definition);
    if (from === undefined)
      throw new RolloutError(
        'VERSION_NOT_FOUND',
        `${who(tenant, definition)} has no current version to roll out from.`,
        { details: { tenant, definition } },
      );
    if (from === p.to)
      throw new RolloutError('ROLLOUT_INVALID', `${who(tenant, definition)} is already at version ${p.to}.`, {
        details: { tenant, definition, version: p.to },
      });
    const existing = await this.#store.get(tenant, definition);
    if (existing !== undefined && isActive(existing.record.status)) throw exists(existing.record);
    await this.#store.dropStats(tenant, definition); // the last rollout's windows
    const now = this.#clock();
    const id = randomBytes(8).toString('hex');
    const draft: RolloutRecord = {
      v: 1,
      id,
      tenant,
      definition,
      from,
      to: p.to,
      steps: p.steps,
      holdMs: p.holdMs,
      gates: p.gates,
      checks: p.checks,
      stepIndex: 0,
      percent: p.steps[0]!,
      status: 'running',
      startedAt: now,
      updatedAt: now,
      stepStartedAt: now,
      stepId: `${id}_0`,
      figures: EMPTY_PAIR,
      history: [],
    };
    const [record, decision] = this.#decision(
      draft,
      {},
      'start',
      `${from} → ${p.to} in steps ${p.steps.join(', ')}%`,
      EMPTY_PAIR,
      now,
    );
    const revision = await this.#store.put(record, existing?.revision ?? 0);
    if (revision === undefined) {
      const now2 = await this.#store.get(tenant, definition);
      throw now2 !== undefined && isActive(now2.record.status)
        ? exists(now2.record)
        : storeUnavailable('start the rollout: the record changed meanwhile (try again)');
    }
    await this.#decided(undefined, record, revision, decision);
    return record;
  }

  /** Holds the current step: no advance (a breach still rolls back). A paused one stays paused. @throws `ROLLOUT_NOT_FOUND`, `ROLLOUT_NOT_ACTIVE` */
  async pause(tenant: string, definition: string, reason = 'paused by an operator'): Promise<RolloutRecord> {
    return this.#operate(tenant, definition, 'pause', reason, (r) =>
      r.status === 'paused' ? undefined : { status: 'paused' },
    );
  }

  /** Resumes a paused rollout; its step's window (and hold) starts again. @throws `ROLLOUT_NOT_FOUND`, `ROLLOUT_NOT_ACTIVE` */
  async resume(
    tenant: string,
    definition: string,
    reason = 'resumed by an operator',
  ): Promise<RolloutRecord> {
    return this.#operate(tenant, definition, 'resume', reason, (r, now) =>
      r.status === 'running' ? undefined : { status: 'running', ...nextWindow(r, r.stepIndex, now) },
    );
  }

  /** Finishes at once: `to` becomes the current version everywhere. @throws `ROLLOUT_NOT_FOUND`, `ROLLOUT_NOT_ACTIVE` */
  async promote(
    tenant: string,
    definition: string,
    reason = 'promoted by an operator',
  ): Promise<RolloutRecord> {
    return this.#operate(tenant, definition, 'promote', reason, (r) => ({
      status: 'promoted',
      stepIndex: r.steps.length - 1,
      percent: 100,
      reason,
    }));
  }

  /** Stops and sends all traffic back to `from`. @throws `ROLLOUT_NOT_FOUND`, `ROLLOUT_NOT_ACTIVE` */
  async abort(tenant: string, definition: string, reason = 'aborted by an operator'): Promise<RolloutRecord> {
    return this.#operate(tenant, definition, 'abort', reason, () => ({
      status: 'aborted',
      percent: 0,
      reason,
    }));
  }

  /** The rollout of a definition (the latest, finished or not) and its window's figures now. @throws `ROLLOUT_NOT_FOUND` */
  async status(tenant: string, definition: string): Promise<RolloutView> {
    this.#open();
    const stored = await this.#store.get(tenant, definition);
    if (stored === undefined) throw rolloutNotFound(tenant, definition);
    const record = stored.record;
    const live = isActive(record.status) ? (await this.#window(record)).figures : record.figures;
    return { ...record, live };
  }

  /** A tenant's rollouts (the latest of each definition). */
  async list(tenant: string): Promise<RolloutRecord[]> {
    this.#open();
    return (await this.#store.list(tenant)).map((s) => s.record);
  }

  /**
   * Reports one result of a tenant's definition at `version` (the hot path: O(1), no await;
   * ignored unless a rollout of it is active on this node and `version` is one of its two).
   * `sample` (the run's id and output) is kept among the new version's latest runs for function checks.
   */
  observe(
    tenant: string,
    definition: string,
    version: string,
    latencyMs: number,
    ok: boolean,
    sample?: { runId?: string; output?: unknown },
  ): void {
    const window = this.#mirror.window(tenant, definition);
    if (window === undefined) return;
    window.observe(version, latencyMs, ok, sample?.runId, sample?.output);
  }

  /** Deletes a tenant's rollouts and their stats (every node sends its traffic back to the current version). */
  async purgeTenant(tenant: string): Promise<number> {
    this.#open();
    this.#mirror.dropTenant(tenant);
    return this.#store.purgeTenant(tenant);
  }

  /**
   * One round (the timer runs it every `tickMs`; tests may call it): this node flushes its
   * windows' stats to the store, then judges each active rollout it decides (holds the lease of,
   * or all without leases): a breach rolls back, a step held long enough with the gates passing
   * advances (the last one promotes). Rounds do not overlap; failures go to `onError`.
   */
  async tick(): Promise<void> {
    if (this.#closed) return;
    this.#round ??= this.#runRound().finally(() => {
      this.#round = undefined;
    });
    return this.#round;
  }

  /** Stops the timer and the watch, flushes stats and releases leases. The store and target are left as they are. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#round;
    await this.#flush().catch(() => undefined);
    await this.#watch?.close().catch(() => undefined);
    await this.#mirror.close();
    await this.#keeper?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #runRound(): Promise<void> {
    try {
      await this.#flush();
    } catch (error) {
      this.#error(error, 'flush rollout stats');
    }
    for (const local of this.#mirror.rollouts()) {
      const leaseKey = `rollout.${rolloutKey(local.tenant, local.definition)}`;
      if (!isActive(local.record.status)) {
        if (this.#keeper?.holds(leaseKey)) await this.#keeper.give(leaseKey);
        continue;
      }
      if (this.#closed) return;
      try {
        if (this.#keeper !== undefined && !(await this.#keeper.take(leaseKey))) continue;
        await this.#judge(local.tenant, local.definition);
      } catch (error) {
        this.#error(error, `judge the rollout of ${who(local.tenant, local.definition)}`);
      }
    }
  }

  async #flush(): Promise<void> {
    for (const [tenant, definition, window] of [...this.#mirror.windows()]) {
      if (!window.dirty) continue;
      window.dirty = false;
      try {
        await this.#store.putStats(tenant, definition, window.stepId, this.node, window.snapshot());
      } catch (error) {
        window.dirty = true; // flushed again next round
        throw error;
      }
    }
  }

  async #judge(tenant: string, definition: string): Promise<void> {
    const stored = await this.#store.get(tenant, definition);
    if (stored === undefined || !isActive(stored.record.status)) return;
    const r = stored.record;
    const { figures, samples } = await this.#window(r);
    const verdict = await judge(r.gates, r.checks, figures, r.baseline, samples, this.#checks, {
      tenant,
      definition,
    });
    const now = this.#clock();
    let change: [Partial<RolloutRecord>, DecisionKind, string] | undefined;
    if (verdict.breaches.length > 0) {
      const reason = verdict.breaches.join('; ');
      change = [{ status: 'rolled-back', percent: 0, reason }, 'rollback', reason];
    } else if (r.status === 'running' && verdict.judged && now - r.stepStartedAt >= r.holdMs) {
      const baseline = figures.from.count >= r.gates.minSamples ? figures.from : r.baseline;
      const held = `step ${r.stepIndex + 1} (${r.percent}%) held ${now - r.stepStartedAt} ms with the gates passing`;
      change =
        r.stepIndex + 1 >= r.steps.length
          ? [{ status: 'promoted', reason: `all steps passed` }, 'promote', held]
          : [{ ...nextWindow(r, r.stepIndex + 1, now), ...(baseline && { baseline }) }, 'advance', held];
    }
    if (change === undefined) return;
    const [record, decision] = this.#decision(r, change[0], change[1], change[2], figures, now);
    const revision = await this.#store.put(record, stored.revision);
    if (revision === undefined) return; // an operator's change came first; judged again next round
    await this.#decided(r, record, revision, decision);
  }

  /** The merged figures and samples of a record's current window: the store's, with this node's own live. */
  async #window(r: RolloutRecord): Promise<{ figures: FiguresPair; samples: RunSample[] }> {
    const nodes = await this.#store.stats(r.tenant, r.definition, r.stepId);
    const mine = this.#mirror.window(r.tenant, r.definition);
    if (mine?.stepId === r.stepId) nodes.set(this.node, mine.snapshot());
    return mergeStepStats([...nodes.values()] as StepStats[], this.#sampleSize);
  }

  async #operate(
    tenant: string,
    definition: string,
    kind: DecisionKind,
    reason: string,
    mutate: (r: RolloutRecord, now: number) => Partial<RolloutRecord> | undefined,
  ): Promise<RolloutRecord> {
    this.#open();
    for (let attempt = 0; attempt < 5; attempt++) {
      const stored = await this.#store.get(tenant, definition);
      if (stored === undefined) throw rolloutNotFound(tenant, definition);
      const r = stored.record;
      if (!isActive(r.status)) throw rolloutNotActive(tenant, definition, r.status);
      const now = this.#clock();
      const changes = mutate(r, now);
      if (changes === undefined) return r;
      const { figures } = await this.#window(r);
      const [record, decision] = this.#decision(r, changes, kind, reason, figures, now);
      const revision = await this.#store.put(record, stored.revision);
      if (revision === undefined) continue;
      await this.#decided(r, record, revision, decision);
      return record;
    }
    throw storeUnavailable(`${kind} the rollout of ${who(tenant, definition)}: it kept changing meanwhile`);
  }

  #decision(
    r: RolloutRecord,
    changes: Partial<RolloutRecord>,
    kind: DecisionKind,
    reason: string,
    figures: FiguresPair,
    now: number,
  ): [RolloutRecord, RolloutDecision] {
    const next: RolloutRecord = { ...r, ...changes, updatedAt: now, figures };
    const decision: RolloutDecision = {
      at: now,
      decision: kind,
      step: next.stepIndex,
      percent: next.percent,
      reason: reason.slice(0, 2_000),
      figures,
      node: this.node,
    };
    next.history = [...r.history, decision].slice(-MAX_HISTORY);
    return [next, decision];
  }

  /** After a write of this node: applied here at once (not waiting for the watch), the old window's stats dropped, `onDecision` told. */
  async #decided(
    before: RolloutRecord | undefined,
    record: RolloutRecord,
    revision: number,
    decision: RolloutDecision,
  ): Promise<void> {
    const key = rolloutKey(record.tenant, record.definition);
    await this.#mirror.changed({
      tenant: record.tenant,
      definition: record.definition,
      stored: { record, revision },
    });
    await this.#mirror.settled(key); // a watch told synchronously may have started the application
    if (!isActive(record.status))
      await this.#store
        .dropStats(record.tenant, record.definition)
        .catch((e) => this.#error(e, 'drop stats'));
    else if (before !== undefined && before.id === record.id && before.stepId !== record.stepId)
      await this.#store
        .dropStats(record.tenant, record.definition, before.stepId)
        .catch((e) => this.#error(e, 'drop stats'));
    try {
      this.#onDecision?.(record, decision);
    } catch (error) {
      this.#error(error, 'tell onDecision');
    }
  }

  #error(error: unknown, what: string): void {
    try {
      this.#onError?.(error, what);
    } catch {
      // onError's own failure has nowhere to go.
    }
  }

  #open(): void {
    if (this.#closed) throw storeUnavailable('serve the call: the rollout manager is closed');
  }
}

/** The fields of a record entering step `index` with a fresh window. */
function nextWindow(r: RolloutRecord, index: number, now: number): Partial<RolloutRecord> {
  const n = Number(r.stepId.slice(r.stepId.lastIndexOf('_') + 1)) + 1;
  return { stepIndex: index, percent: r.steps[index]!, stepStartedAt: now, stepId: `${r.id}_${n}` };
}

function exists(r: RolloutRecord): RolloutError {
  return new RolloutError(
    'ROLLOUT_EXISTS',
    `A rollout of ${who(r.tenant, r.definition)} (${r.from} → ${r.to}) is ${r.status}; abort or promote it first.`,
    { details: { tenant: r.tenant, definition: r.definition, status: r.status, from: r.from, to: r.to } },
  );
}

function checkNames(tenant: unknown, definition: unknown): void {
  for (const [name, value] of [
    ['tenant', tenant],
    ['definition', definition],
  ] as const)
    if (typeof value !== 'string' || value.length === 0 || value.length > 256)
      throw new RolloutError('ROLLOUT_INVALID', `A rollout's ${name} must be a string of 1-256 characters.`);
}
