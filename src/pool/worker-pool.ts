import Denque from 'denque';
import { AbortedError, InvalidOptionsError, parseOptions } from '../errors/index.ts';
import { PoolClosedError, PoolOverloadedError } from './errors.ts';
import type { PoolStats } from './pool-stats.ts';
import { type WorkerPoolOptions, workerPoolOptionsSchema } from './worker-pool-options.ts';

type Task<T> = () => T | PromiseLike<T>;

/**
 * A submission that could not start at once. Its task is chained onto `gate` at enqueue
 * time, so it later runs in the caller's async context: promise reactions keep the
 * context they were registered in. (AsyncLocalStorage.snapshot() does the same but
 * measured ~2.9 µs per call here, more than the whole queued path.)
 */
class Pending {
  readonly task: Task<unknown>;
  readonly signal: AbortSignal | undefined;
  readonly enqueuedAt: number;
  readonly promise: Promise<unknown>;
  readonly #open: (pending: Pending) => void;
  onAbort: (() => void) | undefined = undefined;
  /** Set instead of running: the submission was aborted or the pool closed. */
  refusal: Error | undefined = undefined;
  /** Where it waits: 'queue', 'waiting', or 'done' once started, aborted or refused. */
  where: 'queue' | 'waiting' | 'done';

  /** `runner` is shared by every submission of a pool, so enqueuing allocates no closure. */
  constructor(
    runner: (pending: Pending) => Promise<unknown>,
    task: Task<unknown>,
    signal: AbortSignal | undefined,
    where: 'queue' | 'waiting',
  ) {
    this.task = task;
    this.signal = signal;
    this.where = where;
    this.enqueuedAt = performance.now();
    this.promise = new Promise<Pending>(captureResolve).then(runner);
    this.#open = capturedResolve!;
    capturedResolve = undefined;
  }

  /** Lets the task run (its pool slot is already reserved). */
  start(): void {
    this.#open(this);
  }

  /** Settles the submission with an error without running the task. */
  refuse(error: Error): void {
    this.refusal = error;
    this.#open(this);
  }
}

let capturedResolve: ((pending: Pending) => void) | undefined;
function captureResolve(resolve: (pending: Pending) => void): void {
  capturedResolve = resolve;
}

/**
 * Bounded concurrency for agent steps (the analogue of Go's `ants` pool): at most
 * `capacity` tasks run at once, up to `queueLimit` wait for a slot, and when both are full
 * callers wait (backpressure) or are refused with `POOL_OVERLOADED`. A task that has to
 * queue still runs in its caller's async context. Uses no timers.
 */
export class WorkerPool {
  #capacity: number;
  readonly #queueLimit: number;
  readonly #whenFull: 'wait' | 'reject';
  readonly #maxWaiting: number;
  readonly #queue = new Denque<Pending>();
  readonly #waiters = new Denque<Pending>();
  #running = 0;
  #queued = 0;
  #waiting = 0;
  #completed = 0;
  #failed = 0;
  #rejected = 0;
  #aborted = 0;
  #waitCount = 0;
  #waitTotal = 0;
  #waitMax = 0;
  #pumping = false;
  #closed = false;
  #closing: Promise<void> | undefined = undefined;
  #idleWaiters: Array<() => void> = [];
  readonly #onOk = (value: unknown): unknown => {
    this.#running--;
    this.#completed++;
    this.#next();
    return value;
  };
  readonly #onError = (error: unknown): never => {
    this.#running--;
    this.#failed++;
    this.#next();
    throw error;
  };
  /** Runs a queued task whose slot `#next` already reserved. */
  readonly #runReserved = (pending: Pending): Promise<unknown> => {
    if (pending.refusal !== undefined) return Promise.reject(pending.refusal);
    this.#running--;
    return this.#start(pending.task);
  };

  /** @throws InvalidOptionsError naming any bad option. */
  constructor(options: WorkerPoolOptions = {}) {
    const parsed = parseOptions('worker pool', workerPoolOptionsSchema, options);
    this.#capacity = parsed.capacity;
    this.#queueLimit = parsed.queueLimit;
    this.#whenFull = parsed.whenFull;
    this.#maxWaiting = parsed.maxWaiting;
  }

  /** Tasks allowed to run at once. */
  get capacity(): number {
    return this.#capacity;
  }

  /**
   * Runs `task` when a slot is free and resolves or rejects with its outcome. Rejects with
   * `POOL_OVERLOADED` when full in reject mode (or past `maxWaiting`), `POOL_CLOSED` after
   * `close()`, and `ABORTED` when `signal` fires before the task starts.
   */
  run<T>(task: Task<T>, options?: { signal?: AbortSignal }): Promise<T> {
    if (this.#closed) {
      this.#rejected++;
      return Promise.reject(new PoolClosedError());
    }
    const signal = options?.signal;
    if (signal?.aborted) {
      this.#aborted++;
      return Promise.reject(abortedBeforeStart(signal));
    }
    if (this.#running < this.#capacity && this.#queued === 0 && this.#waiting === 0) {
      return this.#start(task) as Promise<T>;
    }
    if (this.#queued < this.#queueLimit) return this.#enqueue(task, signal, 'queue') as Promise<T>;
    if (this.#whenFull === 'reject' || this.#waiting >= this.#maxWaiting) {
      this.#rejected++;
      return Promise.reject(
        new PoolOverloadedError({
          capacity: this.#capacity,
          queueLimit: this.#queueLimit,
          running: this.#running,
          queued: this.#queued,
          waiting: this.#waiting,
        }),
      );
    }
    return this.#enqueue(task, signal, 'waiting') as Promise<T>;
  }

  /**
   * Takes a slot synchronously if one is free and nobody is queued ahead, for callers that
   * run their own work and can often finish it synchronously (the agent hot path): no
   * promise or closure is allocated. Every `true` must be paired with one `release()`.
   */
  tryAcquire(): boolean {
    if (this.#closed || this.#running >= this.#capacity || this.#queued !== 0 || this.#waiting !== 0)
      return false;
    this.#running++;
    return true;
  }

  /** Returns a slot taken with `tryAcquire()`, counting the work as completed or failed. */
  release(ok: boolean): void {
    this.#running--;
    if (ok) this.#completed++;
    else this.#failed++;
    this.#next();
  }

  /**
   * Changes how many tasks may run at once. Growing starts queued tasks now; shrinking lets
   * running tasks finish. @throws InvalidOptionsError unless an integer >= 1.
   */
  resize(capacity: number): void {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new InvalidOptionsError(`Pool capacity must be an integer >= 1, got ${capacity}.`);
    }
    this.#capacity = capacity;
    this.#next();
  }

  /** Current figures. */
  stats(): PoolStats {
    return {
      capacity: this.#capacity,
      running: this.#running,
      queued: this.#queued,
      waiting: this.#waiting,
      completed: this.#completed,
      failed: this.#failed,
      rejected: this.#rejected,
      aborted: this.#aborted,
      waitTimeMs: {
        count: this.#waitCount,
        total: this.#waitTotal,
        max: this.#waitMax,
        mean: this.#waitCount === 0 ? 0 : this.#waitTotal / this.#waitCount,
      },
    };
  }

  /** Resolves when nothing runs or waits. Rejects with `ABORTED` if `signal` fires first. */
  onIdle(options?: { signal?: AbortSignal }): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(abortedBeforeStart(signal));
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.#idleWaiters = this.#idleWaiters.filter((w) => w !== done);
        reject(new AbortedError('Stopped waiting for the pool to become idle.', { cause: signal?.reason }));
      };
      const done = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#idleWaiters.push(done);
    });
  }

  /**
   * Stops taking tasks. With `drain` (default) queued and waiting tasks still run and the
   * promise resolves once all are done; without it, or once `signal` fires, they are
   * rejected with `POOL_CLOSED` (and a fired signal resolves at once, not waiting for
   * running tasks). Idempotent.
   */
  close(options: { drain?: boolean; signal?: AbortSignal } = {}): Promise<void> {
    this.#closed = true;
    this.#closing ??= this.#close(options.drain ?? true, options.signal);
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #close(drain: boolean, signal: AbortSignal | undefined): Promise<void> {
    if (!drain || signal?.aborted) this.#rejectPending();
    if (signal?.aborted || this.#isIdle()) return;
    await new Promise<void>((resolve) => {
      const onAbort = () => {
        this.#rejectPending();
        this.#idleWaiters = this.#idleWaiters.filter((w) => w !== done);
        resolve();
      };
      const done = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#idleWaiters.push(done);
    });
  }

  #start(task: Task<unknown>): Promise<unknown> {
    this.#running++;
    let result: unknown;
    try {
      result = task();
    } catch (error) {
      this.#running--;
      this.#failed++;
      this.#next();
      return Promise.reject(error);
    }
    if (typeof (result as PromiseLike<unknown> | null)?.then === 'function') {
      return Promise.resolve(result).then(this.#onOk, this.#onError);
    }
    this.#running--;
    this.#completed++;
    this.#next();
    return Promise.resolve(result);
  }

  #enqueue(
    task: Task<unknown>,
    signal: AbortSignal | undefined,
    where: 'queue' | 'waiting',
  ): Promise<unknown> {
    const pending = new Pending(this.#runReserved, task, signal, where);
    if (where === 'queue') {
      this.#queue.push(pending);
      this.#queued++;
    } else {
      this.#waiters.push(pending);
      this.#waiting++;
    }
    if (signal !== undefined) {
      pending.onAbort = () => this.#abandon(pending);
      signal.addEventListener('abort', pending.onAbort, { once: true });
    }
    return pending.promise;
  }

  /** Starts queued tasks while slots are free. Re-entrant calls (sync tasks) are folded into the loop. */
  #next(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#running < this.#capacity) {
        const pending = this.#take();
        if (pending === undefined) break;
        const now = performance.now();
        const waited = now - pending.enqueuedAt;
        this.#waitCount++;
        this.#waitTotal += waited;
        if (waited > this.#waitMax) this.#waitMax = waited;
        this.#running++; // reserve the slot now; the task starts in a microtask, in its caller's context
        pending.start();
      }
    } finally {
      this.#pumping = false;
    }
    if (this.#idleWaiters.length > 0 && this.#isIdle()) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  /** Takes the next live submission: from the queue first, refilling it from the waiting line. */
  #take(): Pending | undefined {
    let pending = this.#shiftLive(this.#queue);
    if (pending !== undefined) this.#queued--;
    else {
      pending = this.#shiftLive(this.#waiters);
      if (pending !== undefined) this.#waiting--;
    }
    if (pending !== undefined) this.#settle(pending);
    this.#refill();
    return pending;
  }

  #refill(): void {
    while (this.#queued < this.#queueLimit && this.#waiting > 0) {
      const waiter = this.#shiftLive(this.#waiters);
      if (waiter === undefined) break;
      this.#waiting--;
      waiter.where = 'queue';
      this.#queue.push(waiter);
      this.#queued++;
    }
  }

  #shiftLive(line: Denque<Pending>): Pending | undefined {
    let pending = line.shift();
    while (pending !== undefined && pending.where === 'done') pending = line.shift();
    return pending;
  }

  #settle(pending: Pending): void {
    pending.where = 'done';
    if (pending.onAbort !== undefined) {
      pending.signal!.removeEventListener('abort', pending.onAbort);
      pending.onAbort = undefined;
    }
  }

  #abandon(pending: Pending): void {
    const where = pending.where;
    if (where === 'done') return;
    pending.where = 'done';
    pending.onAbort = undefined;
    if (where === 'queue') {
      this.#queued--;
      compactLine(this.#queue, this.#queued);
    } else {
      this.#waiting--;
      compactLine(this.#waiters, this.#waiting);
    }
    this.#aborted++;
    pending.refuse(abortedBeforeStart(pending.signal!));
    this.#refill();
    this.#next();
  }

  #rejectPending(): void {
    for (const line of [this.#queue, this.#waiters]) {
      for (let pending = line.shift(); pending !== undefined; pending = line.shift()) {
        if (pending.where === 'done') continue;
        this.#settle(pending);
        this.#rejected++;
        pending.refuse(new PoolClosedError());
      }
    }
    this.#queued = 0;
    this.#waiting = 0;
    this.#next();
  }

  #isIdle(): boolean {
    return this.#running === 0 && this.#queued === 0 && this.#waiting === 0;
  }
}

/**
 * Abandoned submissions stay in their line (a Denque cannot remove from the middle cheaply)
 * until the pump skips them. Once they outnumber the live ones the line is rebuilt, so
 * senders that keep abandoning while the pool is busy cannot grow it without bound; each
 * rebuild is paid for by the abandons before it. `live` counts the line's live entries.
 */
function compactLine(line: Denque<Pending>, live: number): void {
  const dead = line.length - live;
  if (dead < 64 || dead <= live) return;
  const keep = line.toArray().filter((p) => p.where !== 'done');
  line.clear();
  for (const p of keep) line.push(p);
}

function abortedBeforeStart(signal: AbortSignal): AbortedError {
  return new AbortedError('The task was abandoned by its AbortSignal before it started.', {
    cause: signal.reason,
  });
}
