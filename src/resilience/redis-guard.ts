import { createRequire } from 'node:module';
import type { RedisClientType } from 'redis';
import { AgentfleetError } from '../errors/index.ts';
import { RateLimiterUnavailableError } from './errors.ts';

/** How long a limiter waits for Redis before `RATE_LIMITER_UNAVAILABLE` (`timeout`), in ms. */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 1_000;

const require = createRequire(import.meta.url);
/**
 * `redis`'s TimeoutError, loaded when the first guard is made (the caller's client has loaded
 * `redis` by then): importing `agentfleet` must not load a database client.
 */
let timeoutError: typeof import('redis')['TimeoutError'] | undefined;

/**
 * Limits kept on Redis must fail fast when Redis is lost, not queue until it is back: a
 * command is sent only while the client is ready (else `not-connected` at once, and nothing
 * is queued to run later), and times out after `timeoutMs`. The client's own reconnection
 * brings the limit back.
 */
export class RedisGuard {
  /** The client, with a timeout on every command. */
  readonly client: RedisClientType;
  readonly #raw: RedisClientType;

  constructor(client: RedisClientType, timeoutMs = DEFAULT_REDIS_COMMAND_TIMEOUT_MS) {
    this.#raw = client;
    timeoutError ??= (require('redis') as typeof import('redis')).TimeoutError;
    this.client = client.withCommandOptions({ timeout: timeoutMs }) as unknown as RedisClientType;
  }

  /** @throws RateLimiterUnavailableError (`not-connected`) unless the client is ready. */
  ready(): void {
    if (!this.#raw.isReady) throw new RateLimiterUnavailableError('not-connected');
  }

  /** A Redis failure as `RATE_LIMITER_UNAVAILABLE`; our own errors pass through. */
  unavailable(error: unknown): unknown {
    if (AgentfleetError.isInstance(error)) return error;
    if (timeoutError !== undefined && error instanceof timeoutError)
      return new RateLimiterUnavailableError('timeout', error);
    if (!this.#raw.isReady) return new RateLimiterUnavailableError('not-connected', error);
    return new RateLimiterUnavailableError('failed', error);
  }
}
