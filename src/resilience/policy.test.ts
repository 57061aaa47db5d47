import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type FlakyServer, startFlakyServer } from '../../test/flaky/server.ts';
import { liveResources, rejectsWithCode, throwsWithCode } from '../../test/helpers.ts';
import { AgentfleetError } from '../errors/index.ts';
import { parseResiliencePolicy, ResiliencePolicy } from './policy.ts';
import { RetryPolicy } from './retry.ts';

/** A call to the flaky server: 5xx and 429 become retryable errors carrying Retry-After. */
async function call(server: FlakyServer, signal?: AbortSignal): Promise<string> {
  const res = await fetch(server.url, signal === undefined ? {} : { signal });
  await res.arrayBuffer();
  if (res.ok) return 'ok';
  const after = res.headers.get('retry-after');
  const error = new AgentfleetError('UPSTREAM_FAILED', `status ${res.status}`, {
    details: { status: res.status },
  });
  Object.assign(error, { retryable: true, retryAfterMs: after === null ? undefined : Number(after) * 1000 });
  throw error;
}

describe('ResiliencePolicy against a flaky server', () => {
  let server: FlakyServer;
  before(async () => {
    server = await startFlakyServer();
  });
  beforeEach(() => {
    server.errorRate = 0;
    server.latencyMs = 0;
    server.retryAfterSeconds = undefined;
  });
  after(() => server.close());

  it('at 60% errors the breaker opens after its window; open refusals cost no request; half-open trials close it once the server recovers', async () => {
    server.errorRate = 0.6;
    let now = 1_000_000;
    const policy = new ResiliencePolicy(
      'vendor',
      {
        circuitBreaker: {
          slidingWindowSize: 20,
          minimumNumberOfCalls: 20,
          failureRateThreshold: 50,
          waitDurationInOpenStateMs: 150,
          permittedNumberOfCallsInHalfOpenState: 4,
        },
      },
      { now: () => now },
    );
    const states: string[] = [];
    policy.events.on('stateChange', (e) => states.push(e.to));
    for (let i = 0; i < 20; i++) await policy.execute(() => call(server)).catch(() => {});
    assert.equal(policy.breaker?.state, 'open');
    const before = server.requests;
    for (let i = 0; i < 10; i++)
      await rejectsWithCode(
        policy.execute(() => call(server)),
        'CIRCUIT_OPEN',
      );
    assert.equal(server.requests, before, 'refusals made no request');
    server.errorRate = 0;
    now += 150; // the open wait is over
    for (let i = 0; i < 4; i++) assert.equal(await policy.execute(() => call(server)), 'ok');
    assert.equal(policy.breaker?.state, 'closed');
    assert.deepEqual(states, ['open', 'half-open', 'closed']);
    assert.equal(policy.stats().circuit?.rejected, 10);
    await policy.close();
  });

  it('retries retryable failures with backoff and honours Retry-After', async () => {
    server.errorRate = 0.5; // fail, ok, fail, ok …
    server.retryAfterSeconds = 0.05 as number;
    const policy = new ResiliencePolicy('retrying', { retry: { maxAttempts: 3, baseDelayMs: 1 } });
    const waits: Array<{ delayMs: number; code: string | undefined }> = [];
    policy.events.on('retry', (r) => waits.push({ delayMs: r.delayMs, code: r.code }));
    assert.equal(await policy.execute(() => call(server)), 'ok');
    assert.deepEqual(waits, [{ delayMs: 50, code: 'UPSTREAM_FAILED' }], 'waited for Retry-After');
    assert.equal(policy.stats().retries, 1);
    server.retryAfterSeconds = undefined;
    server.errorRate = 1;
    await rejectsWithCode(
      policy.execute(() => call(server)),
      'UPSTREAM_FAILED',
    );
    assert.equal(policy.stats().retries, 3, 'two more retries, then the last error');
    server.errorRate = 0;
    await policy.close();
  });

  it('times out slow attempts (aborting them) and retries the timeout', async () => {
    server.latencyMs = 200;
    const policy = new ResiliencePolicy('slow', { timeoutMs: 30, retry: { maxAttempts: 2, baseDelayMs: 1 } });
    await rejectsWithCode(
      policy.execute((signal) => call(server, signal)),
      'CALL_TIMEOUT',
    );
    assert.equal(policy.stats().retries, 1);
    server.latencyMs = 0;
    await policy.close();
  });

  it('rate limit first: over the limit is RATE_LIMITED without a call, and an event', async () => {
    const policy = new ResiliencePolicy('limited', {
      rateLimit: { type: 'fixed-window', limitForPeriod: 3, limitRefreshPeriodMs: 60_000 },
    });
    const events: unknown[] = [];
    policy.events.on('rateLimited', (e) => events.push(e));
    const before = server.requests;
    for (let i = 0; i < 3; i++) await policy.execute(() => call(server));
    const error = await rejectsWithCode(
      policy.execute(() => call(server)),
      'RATE_LIMITED',
    );
    assert.ok((error.details?.retryAfterMs as number) > 59_000);
    assert.equal(server.requests, before + 3);
    assert.equal(events.length, 1);
    await policy.close();
  });

  it('a bulkhead bounds calls in flight and refuses beyond its queue', async () => {
    server.latencyMs = 30;
    const policy = new ResiliencePolicy('bulk', { bulkhead: { maxConcurrent: 2, maxQueue: 1 } });
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => policy.execute(() => call(server))),
    );
    const codes = results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as { code: string }).code));
    assert.deepEqual(codes.sort(), ['POOL_OVERLOADED', 'POOL_OVERLOADED', 'ok', 'ok', 'ok']);
    server.latencyMs = 0;
    await policy.close();
  });
});

describe('resilience configuration', () => {
  it('fails at load naming each bad value', () => {
    throwsWithCode(
      () => parseResiliencePolicy({ circuitBreaker: { failureRateThreshold: 120 } }),
      'RESILIENCE_CONFIG_INVALID',
    );
    try {
      parseResiliencePolicy({
        rateLimit: { type: 'fixed-window', limitForPeriod: 10, limitRefreshPeriodMs: -1 },
        circuitBreaker: { failureRateThreshold: -5, slidingWindowSize: 0 },
        retry: { maxAttempts: 0 },
        bogus: true,
      });
      assert.fail('expected an error');
    } catch (error) {
      const message = (error as Error).message;
      for (const path of [
        'rateLimit.limitRefreshPeriodMs',
        'circuitBreaker.failureRateThreshold',
        'circuitBreaker.slidingWindowSize',
        'retry.maxAttempts',
        'bogus',
      ]) {
        assert.ok(message.includes(path), `${path} in ${message}`);
      }
    }
  });
});

describe('retry, local', () => {
  it('retry stops on errors that are not safe to retry, and an abort while waiting leaves no timer', async () => {
    const retry = new RetryPolicy({ maxAttempts: 5, baseDelayMs: 10_000, random: () => 1 });
    let calls = 0;
    await rejectsWithCode(
      retry.run(async () => {
        calls++;
        throw new AgentfleetError('INVALID_INPUT', 'bad');
      }),
      'INVALID_INPUT',
    );
    assert.equal(calls, 1);
    const before = liveResources().Timeout ?? 0;
    const controller = new AbortController();
    const run = retry.run(
      async () => {
        throw Object.assign(new Error('503'), { retryable: true });
      },
      controller.signal,
      () => controller.abort(), // as soon as the wait has begun
    );
    await rejectsWithCode(run, 'ABORTED');
    assert.ok((liveResources().Timeout ?? 0) <= before, 'the retry wait was cleared');
  });
});
