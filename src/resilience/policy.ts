import { EventEmitter } from 'node:events';
import type { RedisClientType } from 'redis';
import { z } from 'zod';
import { type ResilienceEvent, resilienceChannel } from '../context/index.ts';
import { formatIssues } from '../errors/index.ts';
import { WorkerPool } from '../pool/index.ts';
import { CircuitBreaker, type CircuitStateChange, circuitBreakerSchema } from './circuit-breaker.ts';
import { RateLimitedError, ResilienceConfigError } from './errors.ts';
import { createRateLimiter, type RateLimiter, rateLimitSchema } from './rate-limiter.ts';
import { type RetryInfo, RetryPolicy, retrySchema } from './retry.ts';
import { withTimeout } from './timeout.ts';

/** One policy as configuration: each part optional, applied in the seed's order. */
export const resiliencePolicySchema = z.strictObject({
  rateLimit: rateLimitSchema.optional(),
  circuitBreaker: circuitBreakerSchema.omit({ name: true }).partial().strict().optional(),
  retry: retrySchema.partial().strict().optional(),
  /** Per attempt, in ms. */
  timeoutMs: z.number().int().min(1).max(3_600_000).optional(),
  /** Calls in flight at once, and waiting for a slot; beyond both, `POOL_OVERLOADED`. */
  bulkhead: z
    .strictObject({
      maxConcurrent: z.number().int().min(1).max(1_000_000),
      maxQueue: z.number().int().min(0).max(100_000_000).default(0),
    })
    .optional(),
});
export type ResiliencePolicyConfig = z.input<typeof resiliencePolicySchema>;

/**
 * Validates a policy config (from a file or env).
 * @throws ResilienceConfigError naming each bad value (`circuitBreaker.failureRateThreshold: …`).
 */
export function parseResiliencePolicy(raw: unknown): z.output<typeof resiliencePolicySchema> {
  const result = resiliencePolicySchema.safeParse(raw);
  if (!result.success) throw new ResilienceConfigError(formatIssues(result.error));
  return result.data;
}

/** Counters of one policy. */
export interface ResilienceStats {
  calls: number;
  succeeded: number;
  failed: number;
  rateLimited: number;
  circuit: { state: string; rejected: number } | undefined;
  retries: number;
}

/**
 * The policies listed by `resiliencePolicies`, held weakly: a policy nobody references any
 * more (one of a cognition that was dropped) leaves the list without `close()`.
 */
const LIVE = new Set<WeakRef<ResiliencePolicy>>();
const FORGET = new FinalizationRegistry<WeakRef<ResiliencePolicy>>((ref) => LIVE.delete(ref));

/** Every policy in this process that is neither closed nor garbage, with its figures (for the admin API and consoles). */
export function resiliencePolicies(): Array<{ name: string } & ResilienceStats> {
  const out: Array<{ name: string } & ResilienceStats> = [];
  for (const ref of LIVE) {
    const p = ref.deref();
    if (p === undefined) LIVE.delete(ref);
    else out.push({ name: p.name, ...p.stats() });
  }
  return out;
}

export interface ResiliencePolicyEvents {
  stateChange: [CircuitStateChange];
  rateLimited: [{ policy: string; key: string; retryAfterMs: number }];
  /** A retry begins its wait (`delayMs`, the server's `Retry-After` when it sent one). */
  retry: [{ policy: string; attempt: number; delayMs: number; code: string | undefined }];
}

/**
 * rate limit → circuit breaker → retry → bulkhead → timeout → call, declared once (per
 * provider, per agent) and applied to every call. Every part is optional.
 */
export class ResiliencePolicy {
  readonly name: string;
  readonly events = new EventEmitter<ResiliencePolicyEvents>();
  readonly breaker: CircuitBreaker | undefined;
  readonly #limiter: RateLimiter | undefined;
  readonly #retry: RetryPolicy | undefined;
  readonly #bulkhead: WorkerPool | undefined;
  readonly #timeoutMs: number | undefined;
  readonly #ref = new WeakRef(this);
  #calls = 0;
  #succeeded = 0;
  #failed = 0;
  #rateLimited = 0;

  /**
   * @param options.redis shares the rate limit through Redis.
   * @param options.now the breaker's clock in ms (default `Date.now`), for tests.
   */
  constructor(
    name: string,
    config: ResiliencePolicyConfig,
    options: { redis?: RedisClientType; now?: () => number } = {},
  ) {
    const c = parseResiliencePolicy(config);
    this.name = name;
    this.#limiter =
      c.rateLimit === undefined ? undefined : createRateLimiter(c.rateLimit, { redis: options.redis });
    this.breaker =
      c.circuitBreaker === undefined
        ? undefined
        : new CircuitBreaker({
            ...c.circuitBreaker,
            name,
            ...(options.now === undefined ? {} : { now: options.now }),
          });
    this.breaker?.events.on('stateChange', (e) => {
      if (resilienceChannel.hasSubscribers) {
        resilienceChannel.publish({
          kind: 'circuit',
          policy: name,
          from: e.from,
          to: e.to,
        } satisfies ResilienceEvent);
      }
      this.events.emit('stateChange', e);
    });
    LIVE.add(this.#ref);
    FORGET.register(this, this.#ref, this.#ref);
    this.#retry = c.retry === undefined ? undefined : new RetryPolicy(c.retry);
    this.#bulkhead =
      c.bulkhead === undefined
        ? undefined
        : new WorkerPool({
            capacity: c.bulkhead.maxConcurrent,
            queueLimit: c.bulkhead.maxQueue,
            whenFull: 'reject',
          });
    this.#timeoutMs = c.timeoutMs;
  }

  /**
   * Runs `fn` under the policy. `key` selects the rate-limit bucket (default: the policy's name).
   * Rejects with `RATE_LIMITED`, `CIRCUIT_OPEN`, `POOL_OVERLOADED`, `CALL_TIMEOUT`, `ABORTED`,
   * or `fn`'s own error after the retries.
   */
  async execute<T>(
    fn: (signal: AbortSignal | undefined) => Promise<T>,
    options: { key?: string; signal?: AbortSignal } = {},
  ): Promise<T> {
    this.#calls++;
    const signal = options.signal;
    const breaker = this.breaker;
    let started = 0;
    try {
      if (this.#limiter !== undefined) {
        const limited = this.#limiter.consume(options.key ?? this.name);
        if (limited !== undefined) await this.#limited(limited, options.key ?? this.name);
      }
      if (breaker !== undefined) started = breaker.acquire();
    } catch (error) {
      this.#failed++;
      throw error;
    }
    try {
      const value = await (this.#retry === undefined
        ? this.#attempt(fn, signal)
        : this.#retry.run(() => this.#attempt(fn, signal), signal, this.#onRetry));
      breaker?.success(started);
      this.#succeeded++;
      return value;
    } catch (error) {
      breaker?.failure(started, error);
      this.#failed++;
      throw error;
    }
  }

  stats(): ResilienceStats {
    return {
      calls: this.#calls,
      succeeded: this.#succeeded,
      failed: this.#failed,
      rateLimited: this.#rateLimited,
      circuit:
        this.breaker === undefined
          ? undefined
          : { state: this.breaker.state, rejected: this.breaker.rejected },
      retries: this.#retry?.retries ?? 0,
    };
  }

  /** Closes the bulkhead and removes listeners. */
  async close(): Promise<void> {
    LIVE.delete(this.#ref);
    FORGET.unregister(this.#ref);
    this.events.removeAllListeners();
    this.breaker?.events.removeAllListeners();
    await this.#bulkhead?.close();
  }

  readonly #onRetry = (retry: RetryInfo): void => {
    if (this.events.listenerCount('retry') === 0) return;
    const code = (retry.error as { code?: unknown } | null)?.code;
    this.events.emit('retry', {
      policy: this.name,
      attempt: retry.attempt,
      delayMs: retry.delayMs,
      code: typeof code === 'string' ? code : undefined,
    });
  };

  async #limited(pending: Promise<void>, key: string): Promise<void> {
    try {
      await pending;
    } catch (error) {
      if (error instanceof RateLimitedError) {
        this.#rateLimited++;
        if (resilienceChannel.hasSubscribers) {
          resilienceChannel.publish({ kind: 'rate-limited', policy: this.name } satisfies ResilienceEvent);
        }
        this.events.emit('rateLimited', { policy: this.name, key, retryAfterMs: error.retryAfterMs });
      }
      throw error;
    }
  }

  #attempt<T>(
    fn: (signal: AbortSignal | undefined) => Promise<T>,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    const timeoutMs = this.#timeoutMs;
    const call = timeoutMs === undefined ? () => fn(signal) : () => withTimeout(fn, timeoutMs, signal);
    return this.#bulkhead === undefined ? call() : this.#bulkhead.run(call, { signal });
  }
}
