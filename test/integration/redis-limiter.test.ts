// Rate limits shared through Redis (loopback 6379): the same behaviour as in memory, and two
// processes holding one limit of 100 requests a second for 10 seconds.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createClient, type RedisClientType } from 'redis';
import { createRateLimiter } from '../../src/resilience/index.ts';
import { rejectsWithCode, sleep } from '../helpers.ts';
import { serverSkipReason } from './servers.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const skip = await serverSkipReason('Redis', 6379);
const worker = fileURLToPath(new URL('./fixtures/redis-limiter-worker.ts', import.meta.url));

describe('rate limits on Redis', { skip }, () => {
  let redis: RedisClientType;
  const prefix = `af-test:${randomBytes(4).toString('hex')}`;
  before(async () => {
    redis = createClient({ url: REDIS_URL }) as RedisClientType;
    await redis.connect();
  });
  after(async () => {
    for await (const keys of redis.scanIterator({ MATCH: `${prefix}*` }))
      if (keys.length > 0) await redis.del(keys);
    await redis.quit();
  });

  const cases = [
    ['fixed-window, memory', { type: 'fixed-window', limitForPeriod: 5, limitRefreshPeriodMs: 200 }, false],
    ['fixed-window, Redis', { type: 'fixed-window', limitForPeriod: 5, limitRefreshPeriodMs: 1_000 }, true],
    ['token-bucket, memory', { type: 'token-bucket', capacity: 5, refillPerSecond: 25 }, false],
    ['token-bucket, Redis', { type: 'token-bucket', capacity: 5, refillPerSecond: 25 }, true],
  ] as const;
  for (const [name, config, onRedis] of cases) {
    it(`${name}: allows the limit, refuses beyond it with RATE_LIMITED, and refills`, async () => {
      const window = config.type === 'fixed-window' ? config.limitRefreshPeriodMs : 200;
      const limiter = createRateLimiter(config, onRedis ? { redis, keyPrefix: `${prefix}:${name}` } : {});
      for (let i = 0; i < 5; i++) await limiter.consume('k');
      const error = await rejectsWithCode((async () => limiter.consume('k'))(), 'RATE_LIMITED');
      const wait = error.details?.retryAfterMs as number;
      assert.ok(wait > 0 && wait <= window, `retry after ${wait} ms`);
      await limiter.consume('another-key');
      await sleep(wait + 20);
      await limiter.consume('k');
    });
  }

  it('refuses a sub-second fixed window on Redis (it would never expire there)', () => {
    assert.throws(
      () =>
        createRateLimiter({ type: 'fixed-window', limitForPeriod: 1, limitRefreshPeriodMs: 200 }, { redis }),
      (e: { code?: string }) => e.code === 'INVALID_OPTIONS',
    );
  });

  it('two processes sharing a 100/s limit for 10 s never exceed it by more than one window', {
    timeout: 60_000,
  }, async () => {
    const key = `${prefix}:shared`;
    const run = () =>
      new Promise<{ allowed: number[]; refused: number }>((resolve, reject) =>
        execFile(process.execPath, [worker, REDIS_URL, key, '100', '10'], (error, stdout) =>
          error ? reject(error) : resolve(JSON.parse(stdout)),
        ),
      );
    const [a, b] = await Promise.all([run(), run()]);
    const all = [...a.allowed, ...b.allowed].sort((x, y) => x - y);
    const seconds = (all.at(-1)! - all[0]!) / 1000;
    // Any 1-second span may straddle two windows: at most 2 × 100.
    let worst = 0;
    for (let i = 0, j = 0; i < all.length; i++) {
      while (all[i]! - all[j]! >= 1000) j++;
      worst = Math.max(worst, i - j + 1);
    }
    console.log(
      `JSON: ${JSON.stringify({ name: 'redis-limiter', allowed: all.length, perProcess: [a.allowed.length, b.allowed.length], refused: a.refused + b.refused, seconds, worstOneSecondSpan: worst })}`,
    );
    assert.ok(a.allowed.length > 100 && b.allowed.length > 100, 'both processes got calls through');
    assert.ok(all.length <= 100 * Math.ceil(seconds) + 100, `${all.length} allowed in ${seconds} s`);
    assert.ok(worst <= 200, `worst 1-second span ${worst}`);
  });
});
