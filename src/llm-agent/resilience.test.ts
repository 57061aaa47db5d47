// A policy declared on the LLM cognition: rate limits counted per agent (or tenant, or model).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startVendorServer, type VendorServer } from '../../test/vendors/server.ts';
import { createRuntime, defineAgent } from '../core/index.ts';
import type { Provider } from '../llm/index.ts';
import { createProvider } from '../models/index.ts';
import { resiliencePolicies } from '../resilience/index.ts';
import { llm } from './index.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('LLM cognition with a resilience policy', () => {
  let vendor: VendorServer;
  let provider: Provider;
  before(async () => {
    vendor = await startVendorServer({ latencyMs: 0 });
    provider = createProvider('openai', { baseUrl: `${vendor.url}/v1`, apiKey: 'k' });
  });
  after(async () => {
    await provider.close();
    await vendor.close();
  });

  for (const [key, secondAgentOk] of [
    ['agent', true],
    ['model', false],
  ] as const) {
    it(`rate limit per ${key}`, async () => {
      const brain = llm({
        provider,
        model: 'm',
        resilience: { rateLimit: { type: 'fixed-window', limitForPeriod: 1, limitRefreshPeriodMs: 60_000 } },
        resilienceKey: key,
      });
      const runtime = createRuntime();
      const def = defineAgent({ name: `limited-${key}`, decide: brain, act: (a) => a.text });
      const a = await runtime.spawn(def, { id: 'a' });
      const b = await runtime.spawn(def, { id: 'b' });
      assert.equal(await a.send('scenario:echo one'), 'echo: scenario:echo one');
      await assert.rejects(
        a.send('scenario:echo two'),
        (e: { cause?: { code?: string } }) => e.cause?.code === 'RATE_LIMITED',
      );
      const second = b.send('scenario:echo three').then(
        () => true,
        () => false,
      );
      assert.equal(await second, secondAgentOk);
      assert.equal(brain.resilience?.stats().rateLimited, secondAgentOk ? 1 : 2);
      await runtime.close();
      await brain.resilience?.close();
    });
  }

  it('policies of closed or dropped cognitions leave the registry', async () => {
    const model = `m-${randomBytes(4).toString('hex')}`;
    const listed = () => resiliencePolicies().filter((p) => p.name === `llm:${model}`).length;
    const resilience = { circuitBreaker: {}, bulkhead: { maxConcurrent: 2 } };
    const kept = Array.from({ length: 10 }, () => llm({ provider, model, resilience }));
    assert.equal(listed(), 10);
    for (const brain of kept) await brain.close();
    assert.equal(listed(), 0, 'close() releases the policy');
    for (let i = 0; i < 2_000; i++) llm({ provider, model, resilience }); // dropped at once
    await nextTurn(); // WeakRefs made in a turn hold their targets until it ends
    gc();
    assert.equal(listed(), 0, 'dropped cognitions do not grow the registry');
  });
});
