import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually, rejectsWithCode } from '../../test/helpers.ts';
import { startVendorServer } from '../../test/vendors/server.ts';
import { currentTenantId, withTenant } from '../context/index.ts';
import { createMetrics } from '../observability/index.ts';
import { CallGate } from './call-gate.ts';
import { createVendorProvider, type ProviderStats } from './index.ts';

describe('CallGate: a metered concurrency cap', () => {
  it('lets `max` calls through and queues the rest, first come first served, metering the wait', async () => {
    const gate = new CallGate('p', { max: 2 });
    const a = await gate.acquire(undefined);
    const b = await gate.acquire(undefined);
    const order: string[] = [];
    const c = gate.acquire(undefined).then((release) => {
      order.push('c');
      return release;
    });
    const d = gate.acquire(undefined).then((release) => {
      order.push('d');
      return release;
    });
    assert.deepEqual(
      { active: gate.stats().active, waiting: gate.stats().waiting },
      { active: 2, waiting: 2 },
    );
    a();
    a(); // a second release gives nothing back
    (await c)();
    b();
    (await d)();
    assert.deepEqual(order, ['c', 'd']);
    const s = gate.stats();
    assert.deepEqual(
      { active: s.active, waiting: s.waiting, waited: s.waited },
      { active: 0, waiting: 0, waited: 2 },
    );
    assert.ok(s.waitMsTotal >= 0 && s.waitMsMax >= 0 && s.waitMsTotal >= s.waitMsMax);
  });

  it('a call aborted while it waits rejects with ABORTED and never takes a slot', async () => {
    const gate = new CallGate('p', { max: 1 });
    const first = await gate.acquire(undefined);
    const controller = new AbortController();
    const waiting = gate.acquire(controller.signal);
    const next = gate.acquire(undefined);
    controller.abort();
    await rejectsWithCode(waiting, 'ABORTED');
    assert.deepEqual([gate.stats().aborted, gate.stats().waiting], [1, 1]);
    first();
    (await next)(); // the slot went to the call behind the aborted one
    assert.equal(gate.stats().active, 0);
    await rejectsWithCode(gate.acquire(AbortSignal.abort()), 'ABORTED');
  });

  it('the queue is bounded: one call more is refused with a retryable LLM_QUEUE_FULL', async () => {
    const gate = new CallGate('p', { max: 1, maxQueued: 1 });
    const first = await gate.acquire(undefined);
    const queued = gate.acquire(undefined);
    const refused = await rejectsWithCode(gate.acquire(undefined), 'LLM_QUEUE_FULL');
    assert.equal((refused as { retryable?: boolean }).retryable, true);
    assert.equal(gate.stats().rejected, 1);
    first();
    (await queued)();
  });

  it('caps each tenant apart (per-tenant overrides too), resuming waiters in their own tenant', async () => {
    const gate = new CallGate('p', { max: 10, perTenant: 1, tenants: { big: 2 } });
    const a1 = await withTenant('a', () => gate.acquire(undefined));
    const a2 = withTenant('a', async () => {
      const release = await gate.acquire(undefined);
      return { release, tenant: currentTenantId() };
    });
    const b1 = await withTenant('b', () => gate.acquire(undefined));
    const big1 = await withTenant('big', () => gate.acquire(undefined));
    const big2 = await withTenant('big', () => gate.acquire(undefined));
    const untenanted = await gate.acquire(undefined);
    // tenant a's second call waits; b, big ×2 and system work do not
    assert.deepEqual([gate.stats().active, gate.stats().waiting], [5, 1]);
    a1();
    const second = await a2;
    assert.equal(second.tenant, 'a');
    for (const release of [second.release, b1, big1, big2, untenanted]) release();
    assert.equal(gate.tenantLanes, 0, 'idle tenants are forgotten');
  });

  it('close refuses the waiting calls', async () => {
    const gate = new CallGate('p', { max: 1 });
    await gate.acquire(undefined);
    const waiting = gate.acquire(undefined);
    gate.close();
    await rejectsWithCode(waiting, 'ABORTED');
    await rejectsWithCode(gate.acquire(undefined), 'ABORTED');
  });

  it('reports waits as Prometheus metrics: llm_queue_waiting, llm_queue_wait_seconds, llm_queue_refused_total', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    try {
      const gate = new CallGate('metered', { max: 1, maxQueued: 1 });
      const first = await gate.acquire(undefined);
      const queued = gate.acquire(undefined);
      await rejectsWithCode(gate.acquire(undefined), 'LLM_QUEUE_FULL');
      const during = await metrics.render();
      assert.match(during, /agentfleet_llm_queue_waiting\{provider="metered"\} 1/);
      assert.match(during, /agentfleet_llm_queue_refused_total\{provider="metered",reason="full"\} 1/);
      first();
      (await queued)();
      const after = await metrics.render();
      assert.match(after, /agentfleet_llm_queue_waiting\{provider="metered"\} 0/);
      assert.match(after, /agentfleet_llm_queue_wait_seconds_count\{provider="metered"\} 1/);
    } finally {
      metrics.close();
    }
  });
});

describe('a provider with a concurrency cap', () => {
  it('sends at most `max` calls to the vendor; the rest wait, shown in stats().queue', async () => {
    const server = await startVendorServer({ hold: true, record: false });
    const provider = createVendorProvider('openai', {
      baseUrl: `${server.url}/v1`,
      apiKey: 'k',
      concurrency: { max: 3 },
    });
    const stats = () => (provider.stats as () => ProviderStats)();
    try {
      const ask = { model: 'm', messages: [{ role: 'user' as const, content: 'hi' }] };
      const calls = [
        ...Array.from({ length: 5 }, () => provider.generate(ask)),
        ...Array.from({ length: 5 }, async () => {
          for await (const _ of provider.stream(ask)) {
            // drain
          }
        }),
      ];
      await eventually(() => server.inFlight === 3 && stats().queue.waiting === 7, 20_000);
      assert.equal(stats().queue.active, 3);
      server.release();
      await Promise.all(calls);
      assert.equal(server.peakInFlight, 3);
      assert.deepEqual([stats().queue.active, stats().queue.waiting, stats().queue.waited], [0, 0, 7]);
    } finally {
      server.release();
      await provider.close();
      await server.close();
    }
  });

  it('rejects a bad concurrency config with INVALID_OPTIONS', () => {
    assert.throws(() => createVendorProvider('openai', { baseUrl: 'http://x', concurrency: { max: 0 } }), {
      code: 'INVALID_OPTIONS',
    });
    assert.throws(
      () => createVendorProvider('openai', { baseUrl: 'http://x', concurrency: { tenants: { t: -1 } } }),
      { code: 'INVALID_OPTIONS' },
    );
  });
});
