import { z } from 'zod';
import { AbortedError, AgentfleetError, parseOptions } from '../errors/index.ts';

/** Options of `retry`. */
export interface RetryOptions {
  /** Attempts in all, the first included. Default 3. */
  maxAttempts?: number;
  /** Backoff before the 2nd attempt, in ms, doubled each time (full jitter: a random delay up to it). Default 200. */
  baseDelayMs?: number;
  /** Longest backoff, in ms. Default 10,000. */
  maxDelayMs?: number;
  /** A server's `Retry-After` (an error's `retryAfterMs`) longer than this is not waited for: the error is thrown. Default 60,000. */
  maxRetryAfterMs?: number;
  /** Which errors are safe to retry. Default: errors marked `retryable` (model 429/5xx/network) and `CALL_TIMEOUT`. */
  isRetryable?: (error: unknown) => boolean;
  /** Source of randomness for jitter, 0–1. Default `Math.random`. */
  random?: () => number;
}

export const retrySchema = z.object({
  maxAttempts: z.number().int().min(1).max(100).default(3),
  baseDelayMs: z.number().min(0).max(3_600_000).default(200),
  maxDelayMs: z.number().min(0).max(3_600_000).default(10_000),
  maxRetryAfterMs: z.number().min(0).max(86_400_000).default(60_000),
});

/** Errors retried by default: those that say so, and timeouts. */
export function isRetryableByDefault(error: unknown): boolean {
  if ((error as { retryable?: unknown } | null)?.retryable === true) return true;
  return AgentfleetError.isInstance(error) && error.code === 'CALL_TIMEOUT';
}

/** A retry about to wait: after which attempt, for how long (ms), and the error that caused it. */
export interface RetryInfo {
  attempt: number;
  delayMs: number;
  error: unknown;
}

/** A validated retry policy; `run` calls a function until it succeeds or may not be retried. */
export class RetryPolicy {
  readonly #o: z.output<typeof retrySchema>;
  readonly #isRetryable: (error: unknown) => boolean;
  readonly #random: () => number;
  #retries = 0;

  constructor(options: RetryOptions = {}) {
    this.#o = parseOptions('retry', retrySchema, { ...options, isRetryable: undefined, random: undefined });
    this.#isRetryable = options.isRetryable ?? isRetryableByDefault;
    this.#random = options.random ?? Math.random;
  }

  /** Retries made so far (attempts after the first). */
  get retries(): number {
    return this.#retries;
  }

  /** How long to wait before attempt `attempt + 1` after `error`; undefined: do not retry. */
  delayAfter(error: unknown, attempt: number): number | undefined {
    if (attempt >= this.#o.maxAttempts || !this.#isRetryable(error)) return undefined;
    const hinted = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
    if (typeof hinted === 'number' && Number.isFinite(hinted) && hinted >= 0) {
      return hinted <= this.#o.maxRetryAfterMs ? hinted : undefined;
    }
    const cap = Math.min(this.#o.maxDelayMs, this.#o.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(this.#random() * cap);
  }

  /**
   * Calls `fn(attempt)` until it resolves, the error is not retryable, or attempts run out;
   * waits between attempts (honouring `Retry-After`). Rejects with the last error, or
   * `ABORTED` when `signal` aborts while waiting. `onRetry` is told of each wait as it begins.
   */
  async run<T>(
    fn: (attempt: number) => Promise<T>,
    signal?: AbortSignal,
    onRetry?: (retry: RetryInfo) => void,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn(attempt);
      } catch (error) {
        const delay = this.delayAfter(error, attempt);
        if (delay === undefined || signal?.aborted) throw error;
        this.#retries++;
        const waiting = sleep(delay, signal);
        onRetry?.({ attempt, delayMs: delay, error });
        await waiting;
      }
    }
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms === 0 && signal === undefined) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortedError('The call was aborted while waiting to retry.', { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
