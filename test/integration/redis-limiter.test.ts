// Rate limits shared through Redis (loopback 6379): the limiter contract, two processes holding
// one limit of 100 requests a second for 10 seconds, and a Redis of our own that we kill and
// restart (a lost Redis gives fast typed errors and recovers by itself).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createClient, type RedisClientType } from 'redis';
import { createRateLimiter, type RateLimitConfig } from '../../src/resilience/index.ts';
import { rateLimiterContract } from '../../src/testing/index.ts';
import { type OwnRedis, redisBinarySkipReason, startOwnRedis } from '../flaky/redis-server.ts';
import { eventually, rejectsWithCode } from '../helpers.ts';
import { serverSkipReason } from './servers.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const skip = await serverSkipReason('Redis', 6379);
const noBinary = redisBinarySkipReason();
const worker = fileURLToPath(new URL('./fixtures/redis-limiter-worker.ts', import.meta.url));
const prefix = `af-test:${randomBytes(4).toString('hex')}`;
let redis: RedisClientType;

before(async () => {
  if (skip !== undefined) return;
  redis = createClient({ url: REDIS_URL }) as RedisClientType;
  await redis.connect();
});
after(async () => {
  if (skip !== undefined) return;
  for await (const keys of redis.scanIterator({ MATCH: `${prefix}*` }))
    if (keys.length > 0) await redis.del(keys);
  await redis.quit();
});

let opened = 0;
rateLimiterContract('Redis', {
  skip,
  open: (config) => createRateLimiter(config, { redis, keyPrefix: `${prefix}:c${opened++}` }),
});

describe('rate limits on Redis', { skip }, () => {
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

describe('a lost Redis', { skip: noBinary, timeout: 60_000 }, () => {
  let own: OwnRedis;
  let client: RedisClientType;
  before(async () => {
    own = await startOwnRedis();
    client = createClient({
      url: own.url,
      socket: { reconnectStrategy: (retries: number) => Math.min(retries * 50, 500) },
    }) as RedisClientType;
    client.on('error', () => {}); // reconnection is the client's job; errors are expected here
    await client.connect();
  });
  after(async () => {
    client.destroy();
    await own.close();
  });

  const configs: Array<[string, RateLimitConfig]> = [
    ['fixed-window', { type: 'fixed-window', limitForPeriod: 5, limitRefreshPeriodMs: 60_000 }],
    ['token-bucket', { type: 'token-bucket', capacity: 5, refillPerSecond: 0.001 }],
  ];
  for (const [kind, config] of configs) {
    it(`${kind}: RATE_LIMITER_UNAVAILABLE at once while Redis is down, nothing queued, and the limit back when it is`, async () => {
      const limiter = createRateLimiter(config, { redis: client, keyPrefix: `lost:${kind}` });
      await limiter.consume('k');
      await own.kill();
      await eventually(() => !client.isReady, 10_000);
      const outcomes: Array<{ code?: string; reason?: string } | 'pending'> = [];
      for (let i = 0; i < 3; i++) {
        const attempt = (async () => limiter.consume('k'))();
        const slot = outcomes.push('pending') - 1;
        attempt.then(
          () => {
            outcomes[slot] = {};
          },
          (e: { code?: string; details?: { reason?: string } }) => {
            outcomes[slot] = { code: e.code, reason: e.details?.reason };
          },
        );
      }
      await nextTurn(); // one turn of the event loop: no Redis reply and no 1 s command timeout fit in it
      assert.deepEqual(
        outcomes,
        Array(3).fill({ code: 'RATE_LIMITER_UNAVAILABLE', reason: 'not-connected' }),
      );
      await own.start(); // empty: the key is gone
      if (!client.isReady) await once(client, 'ready');
      // Five calls fit: none of the refused ones was queued and replayed on reconnection.
      for (let i = 0; i < 5; i++) await limiter.consume('k');
      await rejectsWithCode((async () => limiter.consume('k'))(), 'RATE_LIMITED');
    });
  }
});
