import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createBus } from '../bus/index.ts';
import { currentTenantId, withTenant } from '../context/index.ts';
import { createStateStore } from './agent-state-store.ts';
import type { StateDelta, StateExpiredEvent, StateSnapshotReply } from './state-types.ts';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('AgentStateStore tenancy and snapshots', () => {
  it('keeps the same agent id in two tenants apart, and publishes with the tenant', async () => {
    const bus = createBus();
    let now = 0;
    const store = await createStateStore({ bus, clock: () => now });
    const deltas: Array<[string | undefined, StateDelta]> = [];
    await bus.subscribe<StateDelta>('agent.*.state_delta', (m) => {
      deltas.push([m.tenant, m.payload]);
    });
    const expired: Array<[string | undefined, StateExpiredEvent]> = [];
    await bus.subscribe<StateExpiredEvent>('agent.*.state_expired', (m) => {
      expired.push([m.tenant, m.payload]);
    });
    withTenant('acme', () => {
      store.setTags('r1', ['navigation']);
      store.set('r1', { position: 'acme-pos' });
    });
    withTenant('globex', () => {
      store.setTags('r1', ['emergency', 'navigation']);
      store.set('r1', { position: 'globex-pos', secret: 1 });
    });
    assert.equal(store.get('r1'), undefined, 'no tenant: neither');
    assert.equal(store.size, 2);
    withTenant('acme', () => {
      assert.deepEqual(store.get('r1')?.values, { position: 'acme-pos' });
      assert.equal(store.get('r1')?.tenant, 'acme');
    });
    withTenant('globex', () =>
      assert.deepEqual(store.get('r1')?.values, { position: 'globex-pos', secret: 1 }),
    );
    await turn();
    assert.deepEqual(
      deltas.map(([tenant, d]) => [tenant, d.changed.position]),
      [
        ['acme', undefined],
        ['acme', 'acme-pos'],
        ['globex', undefined],
        ['globex', 'globex-pos'],
      ],
    );
    // Each tenant's versions chain on their own.
    assert.equal(deltas[3]?.[1].baseVersion, deltas[2]?.[1].version);
    // Expiry: globex's r1 (emergency, 5 s) goes, acme's stays.
    now = 5_000;
    assert.equal(store.purgeExpired(), 1);
    await turn();
    assert.deepEqual(
      expired.map(([tenant, e]) => [tenant, e.tenant, e.agentId, e.ttlRule]),
      [['globex', 'globex', 'r1', 'emergency']],
    );
    withTenant('acme', () => assert.ok(store.get('r1')));
    withTenant('acme', () => assert.equal(store.delete('r1'), true));
    assert.equal(store.size, 0);
    await store.close();
    await bus.close();
  });

  it("expires on the store's own interval in the owner's tenant, even for a store made inside another tenant", async () => {
    // The store (and so its interval) is created while tenant A's request runs; the purge
    // used to run as A, so B's expiry notice was refused by the bus ("cannot publish as").
    const bus = createBus();
    let now = 0;
    const store = await withTenant('tenant-a', () => createStateStore({ bus, clock: () => now, tickMs: 5 }));
    const received: Array<[string, string | undefined]> = [];
    const arrived = Promise.withResolvers<void>();
    for (const tenant of ['tenant-a', 'tenant-b']) {
      await withTenant(tenant, () =>
        bus.subscribe<StateExpiredEvent>('agent.*.state_expired', (m) => {
          received.push([tenant, m.tenant]);
          arrived.resolve();
        }),
      );
    }
    const listenedAs: Array<string | undefined> = [];
    store.events.on('expired', () => listenedAs.push(currentTenantId()));
    store.events.on('publishError', ({ error }) => arrived.reject(error));
    withTenant('tenant-b', () => store.setTags('r1', ['emergency']));
    now = 10_000; // past emergency's 5 s: the next tick purges it
    await arrived.promise;
    assert.deepEqual(received, [['tenant-b', 'tenant-b']], "only B's subscriber gets B's notice");
    assert.deepEqual(listenedAs, ['tenant-b'], "the expired event runs in the owner's tenant");
    assert.equal(store.stats().publishErrors, 0);
    await store.close();
    await bus.close();
  });

  it("answers snapshot requests with the relevant view, never another tenant's", async () => {
    const bus = createBus();
    const store = await createStateStore({ bus, clock: () => 0 });
    withTenant('acme', () => {
      store.setTags('r1', ['low_battery']);
      store.set('r1', { battery_level: 12, position: 'p' });
    });
    const ask = async (tenant?: string) =>
      (await bus.request<StateSnapshotReply>('agent.r1.state_snapshot', { agentId: 'r1' }, { tenant }))
        .payload;
    const reply = await ask('acme');
    const view = withTenant('acme', () => store.view('r1'));
    assert.deepEqual(reply, { ...view, found: true, expiresAt: 60_000 });
    assert.deepEqual(reply.found && reply.values, { battery_level: 12 });
    assert.deepEqual(await ask('globex'), { agentId: 'r1', found: false });
    assert.deepEqual(await ask(undefined), { agentId: 'r1', found: false });
    assert.deepEqual(
      (await bus.request<StateSnapshotReply>('agent.nobody.state_snapshot', {}, { tenant: 'acme' })).payload,
      { agentId: 'nobody', found: false },
    );
    assert.equal(store.stats().snapshotsServed, 4);
    await store.close();
    await bus.close();
  });
});
