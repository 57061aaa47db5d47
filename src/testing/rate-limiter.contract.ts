// The behaviour every rate limiter must show, for both kinds (fixed window, token bucket). Run in
// memory by resilience/rate-limiter.test.ts and on Redis by test/integration/redis-limiter.test.ts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { RateLimitConfig, RateLimiter } from '../resilience/index.ts';
import { rejectsWithCode } from './assertions.ts';
import { sleep } from './timing.ts';

export interface RateLimiterContractOptions {
  /** A new limiter for `config` whose keys no other limiter shares. */
  open: (config: RateLimitConfig) => RateLimiter;
  /** Skip reason (server missing). */
  skip?: string | undefined;
}

/**
 * 5 calls, then room again after 2 s (whole seconds: Redis keeps fixed windows in seconds;
 * long enough that a test's calls on a loaded machine fit in one window or one token).
 */
const CONFIGS: Array<[string, RateLimitConfig, number]> = [
  ['fixed-window', { type: 'fixed-window', limitForPeriod: 5, limitRefreshPeriodMs: 2_000 }, 2_000],
  ['token-bucket', { type: 'token-bucket', capacity: 5, refillPerSecond: 0.5 }, 2_000],
];

const consume = (limiter: RateLimiter, key: string, points?: number) =>
  (async () => limiter.consume(key, points))();

/**
 * Registers, with `node:test`, the suite every `RateLimiter` must pass, for a fixed window and
 * a token bucket: the limit allowed then refused with `RATE_LIMITED` and a retry time, keys
 * independent, `delete(key)`, points, and room again after the window. Takes a few seconds
 * (the windows are whole seconds, as Redis keeps them).
 * @param name shown in the suite's title.
 */
export function rateLimiterContract(name: string, options: RateLimiterContractOptions): void {
  describe(`rate limiter contract: ${name}`, { skip: options.skip }, () => {
    for (const [kind, config, refillMs] of CONFIGS) {
      const key = () => `k-${randomBytes(4).toString('hex')}`;

      it(`${kind}: allows the limit, then refuses with RATE_LIMITED, retryAfterMs, key and limit`, async () => {
        const limiter = options.open(config);
        assert.match(limiter.description, new RegExp(`^${kind} `));
        const k = key();
        for (let i = 0; i < 5; i++) await consume(limiter, k);
        const error = await rejectsWithCode(consume(limiter, k), 'RATE_LIMITED');
        const wait = error.details?.retryAfterMs as number;
        assert.ok(wait > 0 && wait <= refillMs, `retry after ${wait} ms`);
        assert.equal(error.details?.key, k);
        assert.equal(error.details?.limit, 5);
        assert.ok((error.details?.retryAfterSeconds as number) >= 1);
      });

      it(`${kind}: keys are independent`, async () => {
        const limiter = options.open(config);
        const [a, b] = [key(), key()];
        for (let i = 0; i < 5; i++) await consume(limiter, a);
        await rejectsWithCode(consume(limiter, a), 'RATE_LIMITED');
        for (let i = 0; i < 5; i++) await consume(limiter, b);
      });

      it(`${kind}: delete(key) starts that key afresh and leaves the others as they were`, async () => {
        const limiter = options.open(config);
        const [a, b] = [key(), key()];
        for (let i = 0; i < 5; i++) await consume(limiter, a);
        for (let i = 0; i < 5; i++) await consume(limiter, b);
        await limiter.delete(a);
        for (let i = 0; i < 5; i++) await consume(limiter, a);
        await rejectsWithCode(consume(limiter, a), 'RATE_LIMITED');
        await rejectsWithCode(consume(limiter, b), 'RATE_LIMITED');
        await limiter.delete(key()); // a key never used
      });

      it(`${kind}: a call may take several points`, async () => {
        const limiter = options.open(config);
        const k = key();
        await consume(limiter, k, 3);
        await consume(limiter, k, 2);
        await rejectsWithCode(consume(limiter, k), 'RATE_LIMITED');
        await rejectsWithCode(consume(limiter, key(), 6), 'RATE_LIMITED');
      });

      it(`${kind}: has room again once the advertised retryAfterMs has passed`, async () => {
        const limiter = options.open(config);
        const k = key();
        for (let i = 0; i < 5; i++) await consume(limiter, k);
        const error = await rejectsWithCode(consume(limiter, k), 'RATE_LIMITED');
        await sleep((error.details?.retryAfterMs as number) + 20);
        await consume(limiter, k);
      });
    }
  });
}
