import { CallTimeoutError } from './errors.ts';

interface Pending {
  expire(): void;
}

/** Calls whose deadlines fall in one 5 ms slot; those without a caller's signal share one AbortController. */
interface Bucket {
  entries: Set<Pending>;
  controller: AbortController | undefined;
  timeoutMs: number;
}

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

  add(entry: Pending, deadline: number, timeoutMs: number): { at: number; bucket: Bucket } {
    const at = Math.ceil(deadline / GRANULARITY_MS) * GRANULARITY_MS;
    let bucket = this.#buckets.get(at);
    if (bucket === undefined) {
      bucket = { entries: new Set(), controller: undefined, timeoutMs };
      this.#buckets.set(at, bucket);
    }
    bucket.entries.add(entry);
    if (at < this.#timerAt) this.#arm(at);
    return { at, bucket };
  }

  delete(entry: Pending, at: number): void {
    const bucket = this.#buckets.get(at);
    if (bucket === undefined) return;
    bucket.entries.delete(entry);
    if (bucket.entries.size === 0) this.#buckets.delete(at);
    // The timer is left to fire and find nothing: clearing and re-arming it per call is what costs.
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, at - performance.now()));
    // The calls themselves keep the process alive; a deadline alone should not.
    this.#timer.unref();
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    for (const [at, bucket] of this.#buckets) {
      if (at <= now) {
        this.#buckets.delete(at);
        bucket.controller?.abort(new CallTimeoutError(bucket.timeoutMs));
        for (const entry of bucket.entries) entry.expire();
      } else if (at < next) next = at;
    }
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next);
  }
}

const deadlines = new Deadlines();

/**
 * Runs `fn` with a signal that aborts after `timeoutMs` (or when `parent` aborts) and rejects
 * with `CALL_TIMEOUT` at the deadline even if `fn` ignores its signal (within 5 ms).
 */
/** One call under a deadline; a class so a call allocates one object instead of several closures. */
class TimedCall<T> implements Pending {
  readonly #resolve: (value: T) => void;
  readonly #reject: (error: unknown) => void;
  readonly #timeoutMs: number;
  readonly #parent: AbortSignal | undefined;
  #own: AbortController | undefined = undefined;
  #at = 0;
  #settled = false;

  constructor(
    resolve: (value: T) => void,
    reject: (error: unknown) => void,
    timeoutMs: number,
    parent: AbortSignal | undefined,
  ) {
    this.#resolve = resolve;
    this.#reject = reject;
    this.#timeoutMs = timeoutMs;
    this.#parent = parent;
  }

  start(fn: (signal: AbortSignal) => Promise<T>): void {
    const { at, bucket } = deadlines.add(this, performance.now() + this.#timeoutMs, this.#timeoutMs);
    this.#at = at;
    let signal: AbortSignal;
    const parent = this.#parent;
    if (parent === undefined) {
      // Calls timing out in the same 5 ms slot share one controller (one per call costs ~1 µs).
      bucket.controller ??= new AbortController();
      signal = bucket.controller.signal;
    } else {
      this.#own = new AbortController();
      if (parent.aborted) this.#own.abort(parent.reason);
      else parent.addEventListener('abort', this, { once: true });
      signal = this.#own.signal;
    }
    let pending: Promise<T>;
    try {
      pending = fn(signal);
    } catch (error) {
      this.fail(error);
      return;
    }
    pending.then(
      (value) => this.ok(value),
      (error: unknown) => this.fail(error),
    );
  }

  /** The caller's signal aborted. */
  handleEvent(): void {
    this.#own?.abort(this.#parent?.reason);
  }

  expire(): void {
    if (this.#settled) return;
    this.#settled = true;
    const error = new CallTimeoutError(this.#timeoutMs);
    this.#parent?.removeEventListener('abort', this);
    this.#own?.abort(error);
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
