import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rejectsWithCode } from '../../test/helpers.ts';
import { startVendorServer, type VendorServer } from '../../test/vendors/server.ts';
import type { Provider, StreamEvent } from '../llm/index.ts';
import { ResiliencePolicy } from '../resilience/index.ts';
import { createProvider, fallbackChain, withResilience } from './index.ts';

const ask = (text = 'hello') => ({ model: 'ignored', messages: [{ role: 'user' as const, content: text }] });

describe('resilient providers against the fake vendor', () => {
  let vendor: VendorServer;
  let healthy: Provider;
  let broken: Provider;
  before(async () => {
    vendor = await startVendorServer({ latencyMs: 0 });
    healthy = createProvider('openai', { baseUrl: `${vendor.url}/v1`, apiKey: 'k' });
    broken = createProvider('openai', {
      baseUrl: `${vendor.url}/v1`,
      apiKey: 'k',
      headers: { 'x-mock-scenario': 'server' },
    });
  });
  after(async () => {
    await healthy.close();
    await broken.close();
    await vendor.close();
  });

  it('falls back from the primary model to the cheaper one, recording why on the result', async () => {
    const chain = fallbackChain({
      steps: [
        { provider: broken, model: 'big' },
        { provider: healthy, model: 'cheap' },
      ],
    });
    const result = await chain.generate(ask());
    assert.match(result.text, /hello/);
    assert.equal(result.fallback?.answeredBy, 'openai/cheap');
    assert.deepEqual(
      result.fallback?.skipped.map((s) => s.step),
      ['openai/big'],
    );
    assert.match(result.fallback?.skipped[0]?.code ?? '', /^LLM_/);
    const plain = await fallbackChain({ steps: [{ provider: healthy, model: 'cheap' }] }).generate(ask());
    assert.equal(plain.fallback, undefined, 'no record when the first step answered');
  });

  it('ends with the rule answer when every model failed', async () => {
    const chain = fallbackChain({
      steps: [{ provider: broken, model: 'big' }],
      ruleAnswer: (_request, skipped) => `Sorry, the assistant is unavailable (${skipped.length} tried).`,
    });
    const result = await chain.generate(ask());
    assert.equal(result.text, 'Sorry, the assistant is unavailable (1 tried).');
    assert.equal(result.fallback?.answeredBy, 'rule');
    const events: StreamEvent[] = [];
    for await (const e of chain.stream(ask())) events.push(e);
    assert.equal(events.at(-1)?.type, 'finish');
    await rejectsWithCode(
      fallbackChain({ steps: [{ provider: broken, model: 'b' }] }).generate(ask()),
      'LLM_SERVER_ERROR',
    );
  });

  it('streams fall back before their first event', async () => {
    const chain = fallbackChain({
      steps: [
        { provider: broken, model: 'big' },
        { provider: healthy, model: 'cheap' },
      ],
    });
    const events: StreamEvent[] = [];
    for await (const e of chain.stream(ask('streamed'))) events.push(e);
    assert.equal(events.at(-1)?.type, 'finish');
    assert.ok(events.some((e) => e.type === 'text-delta'));
  });

  it('withResilience: the breaker opens on a failing vendor and then refuses without calling it', async () => {
    const policy = new ResiliencePolicy('openai/big', {
      circuitBreaker: { slidingWindowSize: 4, minimumNumberOfCalls: 4, waitDurationInOpenStateMs: 60_000 },
    });
    const guarded = withResilience(broken, policy);
    for (let i = 0; i < 4; i++) await guarded.generate(ask()).catch(() => {});
    const before = vendor.calls.length;
    await rejectsWithCode(guarded.generate(ask()), 'CIRCUIT_OPEN');
    const events: StreamEvent[] = [];
    for await (const e of guarded.stream(ask())) events.push(e);
    assert.equal((events[0] as { error?: { code?: string } }).error?.code, 'CIRCUIT_OPEN');
    assert.equal(vendor.calls.length, before, 'no request while open');
    // In a chain, the open circuit just moves on to the next step.
    const chain = fallbackChain({
      steps: [
        { provider: guarded, model: 'big' },
        { provider: healthy, model: 'cheap' },
      ],
    });
    const result = await chain.generate(ask());
    assert.deepEqual(result.fallback?.skipped, [{ step: 'openai/big', code: 'CIRCUIT_OPEN' }]);
    await policy.close();
  });

  it('a provider declares its policy in config; bad policy config fails at creation', async () => {
    const guarded = createProvider('openai', {
      baseUrl: `${vendor.url}/v1`,
      apiKey: 'k',
      headers: { 'x-mock-scenario': 'server' },
      resilience: {
        retry: { maxAttempts: 2, baseDelayMs: 1 },
        circuitBreaker: { slidingWindowSize: 2, minimumNumberOfCalls: 2 },
      },
    });
    const before = vendor.calls.length;
    await rejectsWithCode(guarded.generate(ask()), 'LLM_SERVER_ERROR');
    assert.equal(vendor.calls.length, before + 2, 'one retry of the 500');
    await rejectsWithCode(guarded.generate(ask()), 'LLM_SERVER_ERROR');
    await rejectsWithCode(guarded.generate(ask()), 'CIRCUIT_OPEN');
    await guarded.close();
    assert.throws(
      () => createProvider('openai', { baseUrl: vendor.url, resilience: { retry: { maxAttempts: -1 } } }),
      (e: { code?: string; message: string }) =>
        e.code === 'RESILIENCE_CONFIG_INVALID' && e.message.includes('retry.maxAttempts'),
    );
  });
});
