// The resilience stack's cost per call. Local: a no-op async function called directly, then
// through each layer alone and through the full stack (rate limit → breaker → retry →
// bulkhead → timeout), best of 5 runs of 200,000 calls. On Redis (loopback 6379): the shared
// rate limiters' consumes/s against raw Redis round trips (INCR, and a Lua EVAL) at the same
// concurrency, in the same run.
import { createClient, type RedisClientType } from 'redis';
import { createRateLimiter, ResiliencePolicy, type ResiliencePolicyConfig } from '../src/resilience/index.ts';
import { type BenchReport, bestOf, printReport, round } from './report.ts';

const CALLS = 200_000;
const noop = async () => 1;

async function perCall(run: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 20_000; i++) await run();
  const ms = await bestOf(5, async () => {
    for (let i = 0; i < CALLS; i++) await run();
  });
  return (ms * 1_000_000) / CALLS; // ns
}

const LAYERS: Array<[string, ResiliencePolicyConfig]> = [
  ['rate limit (token bucket)', { rateLimit: { type: 'token-bucket', capacity: 1e9, refillPerSecond: 1e9 } }],
  [
    'rate limit (fixed window, rate-limiter-flexible)',
    { rateLimit: { type: 'fixed-window', limitForPeriod: 1e9, limitRefreshPeriodMs: 1_000 } },
  ],
  ['circuit breaker', { circuitBreaker: {} }],
  ['retry', { retry: {} }],
  ['timeout', { timeoutMs: 10_000 }],
  ['bulkhead', { bulkhead: { maxConcurrent: 64, maxQueue: 1_000 } }],
  [
    'full stack (token bucket)',
    {
      rateLimit: { type: 'token-bucket', capacity: 1e9, refillPerSecond: 1e9 },
      circuitBreaker: {},
      retry: {},
      timeoutMs: 10_000,
      bulkhead: { maxConcurrent: 64, maxQueue: 1_000 },
    },
  ],
  [
    'full stack without timeout',
    {
      rateLimit: { type: 'token-bucket', capacity: 1e9, refillPerSecond: 1e9 },
      circuitBreaker: {},
      retry: {},
      bulkhead: { maxConcurrent: 64, maxQueue: 1_000 },
    },
  ],
];

async function overRedis(
  concurrency: number,
  run: () => Promise<unknown>,
  seconds = 3,
): Promise<{ perSecond: number; failed: number }> {
  let done = 0;
  let failed = 0;
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        try {
          await run();
          done++;
        } catch {
          failed++; // a limiter's RATE_LIMITER_UNAVAILABLE (timeout), say: not counted as done
        }
      }
    }),
  );
  return { perSecond: done / seconds, failed };
}

export async function runResilienceBench(): Promise<BenchReport> {
  const rows: Array<Record<string, string | number>> = [];
  const base = await perCall(noop);
  rows.push({ layer: 'direct call (baseline)', 'ns/call': round(base, 1), 'added ns': 0 });
  const added: Record<string, number> = {};
  for (const [name, config] of LAYERS) {
    const policy = new ResiliencePolicy('bench', config);
    const ns = await perCall(() => policy.execute(noop));
    await policy.close();
    added[name] = ns - base;
    rows.push({ layer: name, 'ns/call': round(ns, 1), 'added ns': round(ns - base, 1) });
  }
  // The local token bucket with one key, and with a new key on every call: past its 100,000
  // keys it forgets whole generations instead of scanning (the old prune scanned every key).
  const KEYS = 1_000_000;
  const keyNames = Array.from({ length: KEYS }, (_, i) => `key-${i}`);
  const perTake = async (distinct: boolean) => {
    const limiter = createRateLimiter({ type: 'token-bucket', capacity: 1e9, refillPerSecond: 1e9 });
    const ms = await bestOf(3, async () => {
      for (let i = 0; i < KEYS; i++) limiter.consume(distinct ? keyNames[i]! : 'k');
    });
    return (ms * 1_000_000) / KEYS;
  };
  const oneKey = await perTake(false);
  const distinctKeys = await perTake(true);
  rows.push({ layer: 'token bucket take, 1 key (baseline)', 'ns/call': round(oneKey, 1), 'added ns': 0 });
  rows.push({
    layer: `token bucket take, ${KEYS.toLocaleString('en')} distinct keys`,
    'ns/call': round(distinctKeys, 1),
    'added ns': round(distinctKeys - oneKey, 1),
  });
  const figures: Record<string, number | string> = {
    tokenBucketOneKeyNsPerTake: round(oneKey, 1),
    tokenBucketDistinctKeysNsPerTake: round(distinctKeys, 1),
    baselineNsPerCall: round(base, 1),
    fullStackAddedNs: round(added['full stack (token bucket)']!, 1),
    fullStackWithoutTimeoutAddedNs: round(added['full stack without timeout']!, 1),
  };
  const redis = createClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }) as RedisClientType;
  try {
    await redis.connect();
  } catch {
    figures.redis = 'not running';
    return {
      name: 'resilience',
      measures: 'policy overhead per call on a no-op (local); Redis limiter throughput',
      rows,
      figures,
    };
  }
  const prefix = `af-bench:${process.pid}`;
  const fixed = createRateLimiter(
    { type: 'fixed-window', limitForPeriod: 1e9, limitRefreshPeriodMs: 1_000 },
    { redis, keyPrefix: prefix },
  );
  const bucket = createRateLimiter(
    { type: 'token-bucket', capacity: 1e9, refillPerSecond: 1e9 },
    { redis, keyPrefix: prefix },
  );
  for (const concurrency of [1, 64]) {
    const raw = await overRedis(concurrency, () => redis.incr(`${prefix}:raw`));
    const rawEval = await overRedis(concurrency, () =>
      redis.eval('return redis.call("INCR", KEYS[1])', { keys: [`${prefix}:eval`] }),
    );
    const f = await overRedis(concurrency, async () => fixed.consume('k'));
    const b = await overRedis(concurrency, async () => bucket.consume('k'));
    for (const [name, value] of [
      ['raw INCR', raw],
      ['raw EVAL (INCR)', rawEval],
      ['fixed window (rate-limiter-flexible)', f],
      ['token bucket (Lua)', b],
    ] as const) {
      rows.push({
        layer: `Redis, ${concurrency} in flight: ${name}`,
        'ops/s': Math.round(value.perSecond),
        'vs raw INCR': round(value.perSecond / raw.perSecond, 2),
        failed: value.failed,
      });
    }
    figures[`redisC${concurrency}RawIncrPerSecond`] = Math.round(raw.perSecond);
    figures[`redisC${concurrency}FixedWindowPerSecond`] = Math.round(f.perSecond);
    figures[`redisC${concurrency}TokenBucketPerSecond`] = Math.round(b.perSecond);
    figures[`redisC${concurrency}Failed`] = raw.failed + rawEval.failed + f.failed + b.failed;
  }
  for await (const keys of redis.scanIterator({ MATCH: `${prefix}*` }))
    if (keys.length > 0) await redis.del(keys);
  await redis.quit();
  return {
    name: 'resilience',
    measures: `policy overhead per call on a no-op async function (best of 5 × ${CALLS.toLocaleString('en')}); Redis limiters vs raw round trips, 3 s each`,
    rows,
    figures,
  };
}

if (import.meta.main) printReport(await runResilienceBench());
