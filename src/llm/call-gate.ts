import { currentTenantId, type ModelQueueEvent, modelQueueChannel } from '../context/index.ts';
import { AbortedError } from '../errors/index.ts';
import { LlmError } from './errors.ts';

/**
 * A deliberate cap on a provider's calls in flight (`ProviderConfig.concurrency`). Without it a
 * provider sends every call at once (the pool opens connections as needed), which is what a
 * fleet wants unless the vendor's own concurrency limit is lower.
 */
export interface ConcurrencyOptions {
  /** Calls to this provider in flight at once, at most; more wait in a queue. Default: no cap. */
  max?: number;
  /** Calls of one tenant to this provider in flight at once, at most. Default: no cap. */
  perTenant?: number;
  /** Per-tenant caps by tenant id, overriding `perTenant`. */
  tenants?: Record<string, number>;
  /** Calls waiting at most (for either cap); one more is refused with `LLM_QUEUE_FULL`. Default 100,000. */
  maxQueued?: number;
}

/** How the queue of a capped provider is doing; all zero when no cap is set. */
export interface QueueStats {
  /** Calls holding a slot now. */
  active: number;
  /** Calls waiting for a slot now. */
  waiting: number;
  /** Calls that had to wait and then got a slot, in all. */
  waited: number;
  /** Milliseconds those calls waited, summed (divide by `waited` for the mean). */
  waitMsTotal: number;
  /** The longest wait so far, in milliseconds. */
  waitMsMax: number;
  /** Calls refused because the queue was full (`LLM_QUEUE_FULL`). */
  rejected: number;
  /** Calls aborted while waiting (they never took a slot). */
  aborted: number;
}

interface Waiter {
  grant(): void;
}

/** One cap: slots in use and the calls waiting for one, first come first served. */
class Lane {
  active = 0;
  readonly waiters = new Set<Waiter>();
  readonly limit: number;
  constructor(limit: number) {
    this.limit = limit;
  }
}

/** Queue figures of a provider with no cap (or a gate before its first call): all zero. */
export function emptyQueueStats(): QueueStats {
  return { active: 0, waiting: 0, waited: 0, waitMsTotal: 0, waitMsMax: 0, rejected: 0, aborted: 0 };
}

/**
 * A metered queue in front of a provider: at most `max` calls in flight, at most `perTenant`
 * of them for one tenant (the tenant of the calling context). A call first takes its tenant's
 * slot, then the provider's, so one tenant's backlog never holds provider slots idle. Waiting
 * calls honour their `AbortSignal` (aborted → `ABORTED`, no slot taken); the queue is bounded.
 * Waits are reported on `modelQueueChannel` (Prometheus: `llm_queue_*`).
 */
export class CallGate {
  readonly #provider: string;
  readonly #lane: Lane;
  readonly #perTenant: number | undefined;
  readonly #tenantLimits: ReadonlyMap<string, number>;
  readonly #tenants = new Map<string, Lane>();
  readonly #maxQueued: number;
  readonly #stats: QueueStats = emptyQueueStats();
  #closed = false;

  constructor(provider: string, options: ConcurrencyOptions) {
    this.#provider = provider;
    this.#lane = new Lane(options.max ?? Number.POSITIVE_INFINITY);
    this.#perTenant = options.perTenant;
    this.#tenantLimits = new Map(Object.entries(options.tenants ?? {}));
    this.#maxQueued = options.maxQueued ?? 100_000;
  }

  /** True when the options ask for any cap (otherwise a provider needs no gate at all). */
  static wanted(options: ConcurrencyOptions | undefined): boolean {
    return (
      options !== undefined &&
      (options.max !== undefined ||
        options.perTenant !== undefined ||
        Object.keys(options.tenants ?? {}).length > 0)
    );
  }

  stats(): QueueStats {
    return { ...this.#stats, active: this.#lane.active };
  }

  /**
   * Takes a slot, waiting for one when the caps are reached; resolves with the function that
   * gives it back (call it once the call has ended; calling it again does nothing).
   * @throws ABORTED when `signal` aborts while waiting; LLM_QUEUE_FULL when the queue is full.
   */
  async acquire(signal: AbortSignal | undefined): Promise<() => void> {
    if (signal?.aborted) throw new AbortedError('The model call was aborted.');
    const tenantId =
      this.#tenantLimits.size > 0 || this.#perTenant !== undefined ? currentTenantId() : undefined;
    const tenant = tenantId === undefined ? undefined : this.#tenantLane(tenantId);
    if (tenant !== undefined && tenantId !== undefined) {
      try {
        await this.#take(tenant, signal);
      } catch (error) {
        this.#sweep(tenantId, tenant);
        throw error;
      }
    }
    try {
      await this.#take(this.#lane, signal);
    } catch (error) {
      if (tenant !== undefined && tenantId !== undefined) this.#give(tenant, tenantId);
      throw error;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#give(this.#lane, undefined);
      if (tenant !== undefined && tenantId !== undefined) this.#give(tenant, tenantId);
    };
  }

  /** Refuses every waiting call (`ABORTED`); later calls are refused too. */
  close(): void {
    this.#closed = true;
    for (const lane of [this.#lane, ...this.#tenants.values()]) {
      for (const waiter of [...lane.waiters]) waiter.grant();
    }
  }

  #tenantLane(id: string): Lane | undefined {
    const limit = this.#tenantLimits.get(id) ?? this.#perTenant;
    if (limit === undefined) return undefined;
    let lane = this.#tenants.get(id);
    if (lane === undefined) {
      lane = new Lane(limit);
      this.#tenants.set(id, lane);
    }
    return lane;
  }

  /** Takes a slot of `lane` now, or returns a promise that resolves once one is handed over. */
  #take(lane: Lane, signal: AbortSignal | undefined): Promise<void> | undefined {
    if (this.#closed) throw new AbortedError(`${this.#provider}: the provider was closed.`);
    if (lane.active < lane.limit && lane.waiters.size === 0) {
      lane.active++;
      return undefined;
    }
    const stats = this.#stats;
    if (stats.waiting >= this.#maxQueued) {
      stats.rejected++;
      this.#publish('rejected', 0);
      throw new LlmError(
        'LLM_QUEUE_FULL',
        this.#provider,
        `${stats.waiting} calls are already waiting for a slot (concurrency.maxQueued ${this.#maxQueued}).`,
      );
    }
    return new Promise<void>((resolve, reject) => {
      const since = performance.now();
      const leave = () => {
        lane.waiters.delete(waiter);
        stats.waiting--;
        signal?.removeEventListener('abort', onAbort);
        return performance.now() - since;
      };
      const onAbort = () => {
        const waited = leave();
        stats.aborted++;
        this.#publish('aborted', waited);
        reject(new AbortedError('The model call was aborted while it waited for a slot.'));
      };
      const waiter: Waiter = {
        grant: () => {
          if (this.#closed) {
            leave();
            reject(new AbortedError(`${this.#provider}: the provider was closed.`));
            return;
          }
          const waited = leave();
          lane.active++;
          stats.waited++;
          stats.waitMsTotal += waited;
          if (waited > stats.waitMsMax) stats.waitMsMax = waited;
          this.#publish('started', waited);
          resolve();
        },
      };
      lane.waiters.add(waiter);
      stats.waiting++;
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#publish('queued', 0);
    });
  }

  /** Gives a slot of `lane` back, handing it straight to the first waiter. */
  #give(lane: Lane, tenantId: string | undefined): void {
    lane.active--;
    const next = lane.waiters.values().next();
    if (!next.done) next.value.grant();
    else if (tenantId !== undefined) this.#sweep(tenantId, lane);
  }

  /** Forgets an idle tenant's lane, so tenants that come and go do not grow the map. */
  #sweep(tenantId: string, lane: Lane): void {
    if (lane.active === 0 && lane.waiters.size === 0 && this.#tenants.get(tenantId) === lane) {
      this.#tenants.delete(tenantId);
    }
  }

  /** Lanes of tenants with calls in flight or waiting (for tests: idle ones are forgotten). */
  get tenantLanes(): number {
    return this.#tenants.size;
  }

  #publish(kind: ModelQueueEvent['kind'], waitMs: number): void {
    if (!modelQueueChannel.hasSubscribers) return;
    const event: ModelQueueEvent = { provider: this.#provider, kind, waiting: this.#stats.waiting, waitMs };
    modelQueueChannel.publish(event);
  }
}
