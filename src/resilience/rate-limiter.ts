import type { RedisClientType } from 'redis';
import { z } from 'zod';
import { InvalidOptionsError, parseOptions } from '../errors/index.ts';
import { RateLimitedError } from './errors.ts';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from './flexible.ts';
import { RedisGuard } from './redis-guard.ts';
import { LocalTokenBuckets, REDIS_TOKEN_BUCKET_SCRIPT } from './token-bucket.ts';

/** A rate limit: the seed's fixed window, or a token bucket. */
export const rateLimitSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('fixed-window'),
    /** Calls allowed per window (the seed's `limitForPeriod`). */
    limitForPeriod: z.number().int().min(1).max(1_000_000_000),
    /** Window length in ms (the seed's `limitRefreshPeriod`). */
    limitRefreshPeriodMs: z.number().int().min(1).max(86_400_000),
  }),
  z.strictObject({
    type: z.literal('token-bucket'),
    /** Largest burst. */
    capacity: z.number().int().min(1).max(1_000_000_000),
    /** Tokens added per second. */
    refillPerSecond: z.number().gt(0).max(1_000_000_000),
  }),
]);
export type RateLimitConfig = z.input<typeof rateLimitSchema>;

/** A per-key rate limit, local or shared through Redis. */
export interface RateLimiter {
  /** `fixed-window` or `token-bucket`, and `memory` or `redis`. */
  readonly description: string;
  /**
   * Takes `points` (default 1) for `key`: undefined or a promise when allowed (local limiters
   * answer synchronously), a rejection with `RateLimitedError` (`RATE_LIMITED`, `retryAfterMs`) when not.
   * On Redis, a rejection with `RateLimiterUnavailableError` (`RATE_LIMITER_UNAVAILABLE`, 503)
   * when Redis is not connected (at once) or does not answer within `commandTimeoutMs`.
   */
  consume(key: string, points?: number): Promise<void> | undefined;
  /** Forgets what `key` has used (its window or bucket starts afresh), e.g. for a deleted tenant. */
  delete(key: string): Promise<void>;
}

/** Options of `createRateLimiter`. */
export interface RateLimiterOptions {
  /** A connected node-redis client: the limit is then shared by every process using it. */
  redis?: RedisClientType;
  /** Prefix of the Redis keys. Default `agentfleet:rl`. */
  keyPrefix?: string;
  /** How long to wait for Redis before `RATE_LIMITER_UNAVAILABLE`, in ms. Default 1,000. */
  commandTimeoutMs?: number;
}

/**
 * A rate limiter from config. The fixed window is `rate-limiter-flexible` (in memory, or on
 * Redis, atomic per key); the token bucket is ours (see `token-bucket.ts`).
 */
export function createRateLimiter(config: RateLimitConfig, options: RateLimiterOptions = {}): RateLimiter {
  const c = parseOptions('rate limit', rateLimitSchema, config);
  const prefix = options.keyPrefix ?? 'agentfleet:rl';
  if (c.type === 'fixed-window') {
    if (options.redis !== undefined && c.limitRefreshPeriodMs % 1000 !== 0) {
      // rate-limiter-flexible keeps Redis windows in whole seconds (a 0.2 s window would never expire).
      throw new InvalidOptionsError(
        `A fixed window on Redis must be whole seconds; limitRefreshPeriodMs is ${c.limitRefreshPeriodMs}.`,
      );
    }
    const common = { points: c.limitForPeriod, duration: c.limitRefreshPeriodMs / 1000, keyPrefix: prefix };
    const guard =
      options.redis === undefined ? undefined : new RedisGuard(options.redis, options.commandTimeoutMs);
    const limiter =
      guard === undefined
        ? new RateLimiterMemory(common)
        : new RateLimiterRedis({
            ...common,
            storeClient: guard.client,
            useRedisPackage: true,
            rejectIfRedisNotReady: true,
          });
    const limit = c.limitForPeriod;
    const refused = (key: string, refusal: unknown): never => {
      if (refusal instanceof RateLimiterRes) throw new RateLimitedError(key, limit, refusal.msBeforeNext);
      throw guard === undefined ? refusal : guard.unavailable(refusal);
    };
    return {
      description: `fixed-window ${limit}/${c.limitRefreshPeriodMs}ms, ${guard === undefined ? 'memory' : 'redis'}`,
      consume(key, points = 1) {
        try {
          guard?.ready();
        } catch (error) {
          return Promise.reject(error);
        }
        return limiter.consume(key, points).then(
          () => undefined,
          (refusal: unknown) => refused(key, refusal),
        );
      },
      async delete(key) {
        guard?.ready();
        try {
          await limiter.delete(key);
        } catch (error) {
          throw guard === undefined ? error : guard.unavailable(error);
        }
      },
    };
  }
  const { capacity, refillPerSecond } = c;
  const description = `token-bucket ${capacity} + ${refillPerSecond}/s, ${options.redis === undefined ? 'memory' : 'redis'}`;
  if (options.redis === undefined) {
    const buckets = new LocalTokenBuckets(capacity, refillPerSecond);
    return {
      description,
      consume(key, points = 1) {
        const wait = buckets.take(key, points);
        return wait === 0 ? undefined : Promise.reject(new RateLimitedError(key, capacity, wait));
      },
      async delete(key) {
        buckets.delete(key);
      },
    };
  }
  const guard = new RedisGuard(options.redis, options.commandTimeoutMs);
  return {
    description,
    async consume(key, points = 1) {
      guard.ready();
      let wait: number;
      try {
        wait = Number(
          await guard.client.eval(REDIS_TOKEN_BUCKET_SCRIPT, {
            keys: [`${prefix}:tb:${key}`],
            arguments: [String(capacity), String(refillPerSecond), String(points)],
          }),
        );
      } catch (error) {
        throw guard.unavailable(error);
      }
      if (wait > 0) throw new RateLimitedError(key, capacity, wait);
    },
    async delete(key) {
      guard.ready();
      try {
        await guard.client.del(`${prefix}:tb:${key}`);
      } catch (error) {
        throw guard.unavailable(error);
      }
    },
  };
}
