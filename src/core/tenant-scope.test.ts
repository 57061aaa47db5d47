import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rejectsWithCode, throwsWithCode } from '../../test/helpers.ts';
import { currentTenantId, withTenant } from '../context/index.ts';
import { TenantQuotaGate } from '../tenancy/index.ts';
import { createRuntime, defineAgent } from './index.ts';

const whoami = defineAgent({
  name: 'whoami',
  onStart: () => {
    started.push(currentTenantId());
  },
  decide: async (input: { until?: Promise<unknown> } | undefined) => {
    if (input?.until !== undefined) await input.until;
    await new Promise((r) => setTimeout(r, 0));
    return currentTenantId();
  },
});
const started: (string | undefined)[] = [];

describe('runtime tenant scope', () => {
  it('agents belong to the tenant that created them; ids are per tenant', async () => {
    const runtime = createRuntime();
    await withTenant('acme', () => runtime.spawn(whoami, { id: 'bot' }));
    await withTenant('globex', () => runtime.spawn(whoami, { id: 'bot' }));
    await runtime.spawn(whoami, { id: 'bot' });
    assert.equal(runtime.size, 3);
    assert.deepEqual(started.slice(-3), ['acme', 'globex', undefined], 'onStart runs as the owner');
    assert.equal(await withTenant('acme', () => runtime.send('bot', {})), 'acme');
    assert.equal(await withTenant('globex', () => runtime.send('bot', {})), 'globex');
    assert.equal(await runtime.send('bot', {}), undefined);
    assert.equal(
      withTenant('acme', () => runtime.agent('bot').tenant),
      'acme',
    );
    await runtime.close();
  });

  it("another tenant's agent is not found, not listed, not removable", async () => {
    const runtime = createRuntime();
    await withTenant('acme', () => runtime.spawn(whoami, { id: 'secret' }));
    await withTenant('globex', async () => {
      assert.equal(runtime.get('secret'), undefined);
      throwsWithCode(() => runtime.agent('secret'), 'AGENT_NOT_FOUND');
      await rejectsWithCode(runtime.send('secret', {}), 'AGENT_NOT_FOUND');
      assert.deepEqual(runtime.list(), []);
      assert.deepEqual(runtime.list({ allTenants: true }), [], 'allTenants is ignored inside a tenant');
      assert.equal(await runtime.remove('secret'), undefined);
    });
    assert.equal(runtime.get('secret'), undefined, 'no tenant: only agents without one');
    assert.equal(runtime.get('acme/secret'), undefined, 'not by its registry key either');
    await rejectsWithCode(runtime.send('acme/secret', {}), 'AGENT_NOT_FOUND');
    assert.equal(await runtime.remove('acme/secret'), undefined);
    assert.equal(runtime.size, 1);
    assert.equal(runtime.list({ allTenants: true }).length, 1);
    assert.equal(runtime.list({ allTenants: true })[0]!.tenant, 'acme');
    assert.throws(() => withTenant('globex', () => runtime.create(whoami, { tenant: 'acme' })));
    await runtime.close();
  });

  it('steps run as the owning tenant even when queued behind others on a full pool', async () => {
    const runtime = createRuntime({ pool: { capacity: 1, queueLimit: 1000 } });
    const tenants = Array.from({ length: 20 }, (_, i) => `t${i}`);
    for (const t of tenants) await withTenant(t, () => runtime.spawn(whoami, { id: 'a' }));
    const gate = Promise.withResolvers<void>();
    const sent = tenants.map((t) => withTenant(t, () => runtime.send('a', { until: gate.promise })));
    assert.equal(runtime.stats().pool.queued, tenants.length - 1, 'all but the first wait in the pool queue');
    gate.resolve();
    assert.deepEqual(await Promise.all(sent), tenants);
    await runtime.close();
  });

  it('a message refused with MAILBOX_FULL is not counted in flight for its tenant', async () => {
    const runtime = createRuntime();
    const gate = Promise.withResolvers<void>();
    const tight = defineAgent({ name: 'tight', mailboxCapacity: 0, decide: () => gate.promise });
    await withTenant('busy', async () => {
      await runtime.spawn(tight, { id: 'a' });
      const first = runtime.send('a', 1);
      await rejectsWithCode(runtime.send('a', 2), 'MAILBOX_FULL');
      assert.equal(runtime.tenantUsage('busy').inFlight, 1);
      gate.resolve();
      await first;
    });
    assert.deepEqual(runtime.tenantUsage('busy'), { agents: 1, inFlight: 0 });
    await runtime.close();
  });

  it('enforces maxAgents and maxConcurrentSteps with QUOTA_EXCEEDED, and frees them again', async () => {
    const gate = new TenantQuotaGate();
    gate.setQuotas('small', { maxAgents: 2, maxConcurrentSteps: 1 });
    const runtime = createRuntime({ admission: gate });
    await withTenant('small', async () => {
      await runtime.spawn(whoami, { id: 'a' });
      await runtime.spawn(whoami, { id: 'b' });
      const error = await rejectsWithCode(runtime.spawn(whoami, { id: 'c' }), 'QUOTA_EXCEEDED');
      assert.equal(error.details?.quota, 'maxAgents');
      const gate = Promise.withResolvers<void>();
      const first = runtime.send('a', { until: gate.promise });
      const refused = await rejectsWithCode(runtime.send('b', {}), 'QUOTA_EXCEEDED');
      assert.equal(refused.details?.quota, 'maxConcurrentSteps');
      assert.equal(runtime.tenantUsage('small').inFlight, 1);
      gate.resolve();
      await first;
      assert.equal(await runtime.send('b', {}), 'small');
      await runtime.remove('a');
      await runtime.spawn(whoami, { id: 'c' });
      assert.deepEqual(runtime.tenantUsage('small'), { agents: 2, inFlight: 0 });
    });
    // Another tenant and the system scope are not limited by small's quotas.
    await withTenant('big', () => Promise.all([1, 2, 3].map((i) => runtime.spawn(whoami, { id: `x${i}` }))));
    await runtime.close();
  });
});
