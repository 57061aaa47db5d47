// Deleting a tenant cascades to everything it owns: a tenant re-created with the same id
// reads nothing of the old one (agents, state, conversations, keys, quota windows). Before
// the cascade, deleting only removed the registry entry (and, over HTTP, the agents).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rejectsWithCode } from '../../test/helpers.ts';
import { startVendorServer, type VendorServer } from '../../test/vendors/server.ts';
import { withTenant } from '../context/index.ts';
import { createRuntime, defineAgent } from '../core/index.ts';
import type { Provider } from '../llm/index.ts';
import { llm } from '../llm-agent/index.ts';
import { createProvider } from '../models/index.ts';
import { createStateStore } from '../state/index.ts';
import {
  issueApiKey,
  MemoryTenantRegistry,
  TenantDeletion,
  TenantDeletionError,
  TenantQuotaGate,
} from './index.ts';

describe('TenantDeletion', () => {
  let server: VendorServer;
  let provider: Provider;
  before(async () => {
    server = await startVendorServer({ latencyMs: 1 });
    provider = createProvider('openai', { baseUrl: `${server.url}/v1`, apiKey: 'k' });
  });
  after(async () => {
    await provider.close();
    await server.close();
  });

  it('purges agents, conversations, state, keys and quotas; a re-created tenant reads none of it', async () => {
    const registry = new MemoryTenantRegistry();
    const gate = new TenantQuotaGate();
    const runtime = createRuntime({ admission: gate });
    const state = await createStateStore();
    const cognition = llm({ provider, model: 'm' });
    const assistant = defineAgent({ name: 'assistant', decide: cognition, act: (answer) => answer.text });
    const deletion = new TenantDeletion({
      registry,
      purgers: [
        { name: 'agents', purgeTenant: (id, o) => runtime.purgeTenant(id, o) },
        { name: 'state', purgeTenant: (id) => state.purgeTenant(id) },
        { name: 'quotas', purgeTenant: (id) => gate.purgeTenant(id) },
      ],
    });
    for (const id of ['acme', 'globex']) {
      await registry.createTenant({ id, quotas: { maxAgents: 5 } });
      gate.setQuotas(id, { maxAgents: 5 });
      await issueApiKey(registry, id);
      await withTenant(id, async () => {
        await runtime.spawn(assistant, { id: 'helper' });
        await runtime.send('helper', `hello from ${id}`);
        state.set('helper', { secret: `${id}-secret` });
      });
    }
    await withTenant('acme', async () => assert.equal((await cognition.memory.history('helper')).length, 2));

    const result = await deletion.delete('acme');
    assert.deepEqual(result.purged, { agents: { agents: 1 }, state: { states: 1 }, quotas: null });
    assert.equal(await registry.getTenant('acme'), undefined);
    assert.deepEqual(await registry.listKeys('acme'), []);
    assert.deepEqual(gate.quotasOf('acme'), {});

    await registry.createTenant({ id: 'acme' });
    await withTenant('acme', async () => {
      assert.deepEqual(runtime.list(), []);
      assert.equal(state.get('helper'), undefined);
      assert.deepEqual(await cognition.memory.history('helper'), []);
      await runtime.spawn(assistant, { id: 'helper' });
      assert.deepEqual(
        await cognition.memory.history('helper'),
        [],
        'the new agent starts with no conversation',
      );
    });
    // The other tenant keeps everything.
    await withTenant('globex', async () => {
      assert.equal(runtime.list().length, 1);
      assert.deepEqual(state.get('helper')?.values, { secret: 'globex-secret' });
      assert.equal((await cognition.memory.history('helper')).length, 2);
    });
    assert.equal((await registry.listKeys('globex')).length, 1);
    await runtime.close();
    await state.close();
    await registry.close();
  });

  it('stops at a failing purger with the tenant disabled, and finishes when retried', async () => {
    const registry = new MemoryTenantRegistry();
    const runtime = createRuntime();
    const echo = defineAgent({ name: 'echo', decide: (x: unknown) => x });
    await registry.createTenant({ id: 'acme' });
    await withTenant('acme', () => runtime.spawn(echo, { id: 'a' }));
    let outages = 1;
    const deletion = new TenantDeletion({
      registry,
      purgers: [
        {
          name: 'flaky',
          purgeTenant: async () => {
            if (outages-- > 0) throw new Error('store unreachable');
            return { ok: true };
          },
        },
        { name: 'agents', purgeTenant: (id, o) => runtime.purgeTenant(id, o) },
      ],
    });
    const error = await rejectsWithCode(deletion.delete('acme'), 'TENANT_DELETION_INCOMPLETE');
    assert.ok(error instanceof TenantDeletionError);
    assert.deepEqual(error.details?.failed, [{ purger: 'flaky', message: 'store unreachable' }]);
    assert.equal((await registry.getTenant('acme'))?.disabled, true, 'kept, disabled, until done');
    assert.equal(runtime.size, 0, 'the purgers after the failing one still ran');
    const done = await deletion.delete('acme');
    assert.deepEqual(done.purged, { flaky: { ok: true }, agents: { agents: 0 } });
    assert.equal(await registry.getTenant('acme'), undefined);
    await rejectsWithCode(deletion.delete('acme'), 'TENANT_NOT_FOUND');
    await rejectsWithCode(deletion.delete('no/such'), 'INVALID_TENANT_ID');
    await runtime.close();
    await registry.close();
  });

  it('removes agents created while the purge runs, and takes an AbortSignal', async () => {
    const runtime = createRuntime();
    let created = 0;
    const slow = defineAgent({
      name: 'slow',
      decide: (x: unknown) => x,
      onStop: async () => {
        // An agent created by the tenant's own work while the first round stops.
        if (created++ === 0) await withTenant('acme', () => runtime.spawn('slow', { id: 'late' }));
      },
    });
    await withTenant('acme', () => runtime.spawn(slow, { id: 'first' }));
    const deletion = new TenantDeletion().add({
      name: 'agents',
      purgeTenant: (id, o) => runtime.purgeTenant(id, o),
    });
    assert.deepEqual(deletion.purgers, ['agents']);
    assert.deepEqual((await deletion.delete('acme')).purged, { agents: { agents: 2 } });
    assert.equal(runtime.size, 0);
    const aborted = new AbortController();
    aborted.abort();
    await rejectsWithCode(deletion.delete('acme', { signal: aborted.signal }), 'ABORTED');
    await runtime.close();
  });
});
