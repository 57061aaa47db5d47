import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import { CallTimeoutError } from './errors.ts';

interface Pending {
  expire(): void;
}

/** Calls whose deadlines fall in one 5 ms slot. */
type Bucket = Set<Pending>;

const GRANULARITY_MS = 5;

/**
 * Every call's deadline on one timer: deadlines are grouped into 5 ms buckets and a single
 * `setTimeout` waits for the earliest. Hand-written because a timer per call (setTimeout +
 * clearTimeout) cost 1.5 µs of the 1.7 µs the whole policy stack took (bench/resilience.bench.ts).
 */
class Deadlines {
  readonly #buckets = new Map<number, Bucket>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;

  /** Adds a call; returns its slot (pass it to `delete`). */
  add(entry: Pending, deadline: number): number {
    const at = Math.ceil(deadline / GRANULARITY_MS) * GRANULARITY_MS;
    let bucket = this.#buckets.get(at);
    if (bucket === undefined) {
      bucket = new Set();
      this.#buckets.set(at, bucket);
    }
    bucket.add(entry);
    if (at < this.#timerAt) this.#arm(at);
    return at;
  }

  delete(entry: Pending, at: number): void {
    const bucket = this.#buckets.get(at);
    if (bucket === undefined) return;
    bucket.delete(entry);
    if (bucket.size === 0) this.#buckets.delete(at);
    // The timer is left to fire and find nothing: clearing and re-arming it per call is what costs.
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    // The timer belongs to no call: each call's expiry runs in that call's own context (`TimedCall`).
    this.#timer = setTimeout(this.#onTimer, Math.max(0, at - performance.now()));
    // The calls themselves keep the process alive; a deadline alone should not.
    this.#timer.unref();
  }

  readonly #onTimer = AsyncLocalStorage.bind(() => this.#fire());

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    for (const [at, bucket] of this.#buckets) {
      if (at <= now) {
        this.#buckets.delete(at);
        for (const entry of bucket) entry.expire();
      } else if (at < next) next = at;
    }
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next);
  }
}

const deadlines = new Deadlines();

const abortWith = (controller: AbortController, reason: unknown): void => controller.abort(reason);

/**
 * One call under a deadline; a class so a call allocates few objects instead of several
 * closures. Each call has its own AbortController (a shared one would abort calls that had
 * already finished) and runs its abort listeners in the async context it was started in
 * (its tenant, its trace), whoever's timer or signal fired: it is an `AsyncResource`, the
 * standard way to carry a caller's context to a callback run later (~0.1 µs per call, where
 * `AsyncLocalStorage.snapshot()` cost ~3 µs).
 */
class TimedCall<T> extends AsyncResource implements Pending {
  readonly #resolve: (value: T) => void;
  readonly #reject: (error: unknown) => void;
  readonly #timeoutMs: number;
  readonly #parent: AbortSignal | undefined;
  readonly #own = new AbortController();
  #at = 0;
  #settled = false;

  constructor(
    resolve: (value: T) => void,
    reject: (error: unknown) => void,
    timeoutMs: number,
    parent: AbortSignal | undefined,
  ) {
    super('agentfleet.timeout');
    this.#resolve = resolve;
    this.#reject = reject;
    this.#timeoutMs = timeoutMs;
    this.#parent = parent;
  }

  start(fn: (signal: AbortSignal) => Promise<T>): void {
    this.#at = deadlines.add(this, performance.now() + this.#timeoutMs);
    const parent = this.#parent;
    if (parent !== undefined) {
      if (parent.aborted) this.#own.abort(parent.reason);
      else parent.addEventListener('abort', this, { once: true });
    }
    let pending: Promise<T>;
    try {
      pending = fn(this.#own.signal);
    } catch (error) {
      this.fail(error);
      return;
    }
    pending.then(
      (value) => this.ok(value),
      (error: unknown) => this.fail(error),
    );
  }

  /** The caller's signal aborted: abort the call's own signal, in the call's context. */
  handleEvent(): void {
    this.runInAsyncScope(abortWith, null, this.#own, this.#parent?.reason);
  }

  /** The deadline passed (called by the shared timer): the call's listeners run in its own context. */
  expire(): void {
    if (this.#settled) return;
    this.#settled = true;
    const error = new CallTimeoutError(this.#timeoutMs);
    this.#parent?.removeEventListener('abort', this);
    this.runInAsyncScope(abortWith, null, this.#own, error);
    this.#reject(error);
  }

  ok(value: T): void {
    if (this.#end()) this.#resolve(value);
  }

  fail(error: unknown): void {
    if (this.#end()) this.#reject(error);
  }

  #end(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    deadlines.delete(this, this.#at);
    this.#parent?.removeEventListener('abort', this);
    return true;
  }
}

/**
 * Runs `fn` with a signal that aborts after `timeoutMs` (or when `parent` aborts) and rejects
 * with `CALL_TIMEOUT` at the deadline even if `fn` ignores its signal (within 5 ms).
 */
export function withTimeout<T>(
  fn: (signal: AbortSignal) => Promise<T>,
  timeoutMs: number,
  parent?: AbortSignal,
): Promise<T> {
  return new Promise<T>((resolve, reject) => new TimedCall<T>(resolve, reject, timeoutMs, parent).start(fn));
}
