import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rejectsWithCode } from '../../test/helpers.ts';
import { currentTenantId, withTenant } from '../context/index.ts';
import { createRuntime, defineAgent } from '../core/index.ts';
import { AgentGroups } from './index.ts';

const whoami = defineAgent({ name: 'whoami', decide: (n: number) => `${currentTenantId() ?? '-'}:${n}` });

describe('AgentGroups', () => {
  it('finds, sends to and lists groups per tenant; one id per tenant', async (t) => {
    const runtime = createRuntime();
    t.after(() => runtime.close());
    const groups = new AgentGroups(runtime);
    t.after(() => groups.close());
    await withTenant('acme', () => groups.open({ id: 'team', definition: whoami, replicas: 2 }));
    await withTenant('globex', () => groups.open({ id: 'team', definition: whoami }));
    await groups.open({ id: 'team', definition: whoami });
    assert.equal(await withTenant('acme', () => groups.send('team', 1)), 'acme:1');
    assert.equal(await withTenant('globex', () => groups.send('team', 2)), 'globex:2');
    assert.equal(await groups.send('team', 3), '-:3');
    assert.deepEqual(
      withTenant('acme', () => groups.list()),
      [{ id: 'team', tenant: 'acme', size: 2 }],
    );
    assert.deepEqual(groups.list(), [{ id: 'team', size: 1 }]);
    await withTenant('acme', () =>
      rejectsWithCode(groups.open({ id: 'team', definition: whoami }), 'GROUP_EXISTS'),
    );
    await withTenant('initech', () => rejectsWithCode(groups.send('team', 4), 'GROUP_NOT_FOUND'));
    assert.equal(
      withTenant('initech', () => groups.get('team')),
      undefined,
    );
  });

  it('two concurrent opens of one id: one wins, the other is GROUP_EXISTS', async (t) => {
    const runtime = createRuntime();
    t.after(() => runtime.close());
    const groups = new AgentGroups(runtime);
    t.after(() => groups.close());
    const outcomes = await Promise.allSettled([
      groups.open({ id: 'g', definition: whoami }),
      groups.open({ id: 'g', definition: whoami }),
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['fulfilled', 'rejected'],
    );
    assert.equal((outcomes[1] as PromiseRejectedResult).reason.code, 'GROUP_EXISTS');
    assert.equal(runtime.size, 1);
  });

  it('a tenant’s deletion closes its groups only', async (t) => {
    const runtime = createRuntime();
    t.after(() => runtime.close());
    const groups = new AgentGroups(runtime);
    t.after(() => groups.close());
    await withTenant('acme', () => groups.open({ id: 'team', definition: whoami, replicas: 2 }));
    await withTenant('globex', () => groups.open({ id: 'team', definition: whoami }));
    assert.deepEqual(await groups.purgeTenant('acme'), { groups: 1 });
    assert.equal(
      withTenant('acme', () => groups.get('team')),
      undefined,
    );
    assert.equal(await withTenant('globex', () => groups.send('team', 1)), 'globex:1');
    assert.equal(runtime.size, 1);
  });

  it('remove and close drain the groups and remove their replicas', async (t) => {
    const runtime = createRuntime();
    t.after(() => runtime.close());
    const groups = new AgentGroups(runtime);
    await groups.open({ id: 'a', definition: whoami, replicas: 2 });
    await withTenant('acme', () => groups.open({ id: 'b', definition: whoami, replicas: 3 }));
    assert.equal(runtime.size, 5);
    assert.equal(await groups.remove('a'), true);
    assert.equal(await groups.remove('a'), false);
    assert.equal(runtime.size, 3);
    // A group closed directly is forgotten: its id can be opened again.
    const c = await groups.open({ id: 'c', definition: whoami });
    await c.close();
    assert.equal(groups.get('c'), undefined);
    await groups.open({ id: 'c', definition: whoami });
    await groups.close();
    assert.equal(runtime.size, 0);
    await rejectsWithCode(groups.open({ id: 'd', definition: whoami }), 'GROUP_CLOSED');
    await rejectsWithCode(groups.send('c', 1), 'GROUP_NOT_FOUND');
  });
});
