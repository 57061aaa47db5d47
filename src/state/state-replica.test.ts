import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rejectsWithCode, seededRandom } from '../../test/helpers.ts';
import { createBus, MemoryTransport, type OutgoingMessage } from '../bus/index.ts';
import { withTenant } from '../context/index.ts';
import { type AgentStateStore, createStateStore } from './agent-state-store.ts';
import { createStateReplica, StateReplica } from './state-replica.ts';
import { SNAPSHOTS_TOPIC, type StateSnapshotPage } from './state-types.ts';

/** A memory transport that loses the messages `drop` picks. */
class LossyTransport extends MemoryTransport {
  drop: (topic: string) => boolean = () => false;
  override publish(message: OutgoingMessage): void | Promise<void> {
    if (this.drop(message.envelope.topic)) return;
    return super.publish(message);
  }
}

const FIELDS = ['position', 'heading', 'speed', 'battery_level', 'charging_status', 'mode', 'note', 'load'];
const TAGS = ['navigation', 'low_battery', 'user_active', 'idle_background'];
const TENANTS = ['acme', 'globex'];
const AGENTS = Array.from({ length: 12 }, (_, i) => `robot-${i}`);

/** Lets every delivery, request and reply in flight finish. */
async function settle(replica: StateReplica): Promise<void> {
  for (let i = 0; i < 4; i++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    await replica.settled();
  }
}

function assertInSync(store: AgentStateStore, replica: StateReplica): void {
  for (const tenant of TENANTS) {
    withTenant(tenant, () => {
      for (const agentId of AGENTS)
        assert.deepEqual(replica.get(agentId), store.view(agentId), `${tenant}/${agentId}`);
    });
  }
}

/** Random patches (set, change, delete) and tag changes over agents of two tenants. */
function randomUpdates(store: AgentStateStore, rand: () => number, count: number): void {
  const pick = <T>(list: readonly T[]) => list[Math.floor(rand() * list.length)] as T;
  for (let i = 0; i < count; i++) {
    withTenant(pick(TENANTS), () => {
      const agentId = pick(AGENTS);
      if (rand() < 0.15) {
        store.setTags(
          agentId,
          TAGS.filter(() => rand() < 0.4),
        );
        return;
      }
      const patch: Record<string, unknown> = {};
      for (let f = 0; f < 3; f++) {
        const r = rand();
        patch[pick(FIELDS)] = r < 0.15 ? null : r < 0.3 ? { at: [i, Math.floor(r * 10)] } : Math.floor(r * 5);
      }
      store.set(agentId, patch);
    });
  }
}

async function setup(lossy = new LossyTransport()) {
  let now = 0;
  const bus = createBus({ transport: lossy });
  const store = await createStateStore({ bus, clock: () => now });
  const replica = await createStateReplica({ bus });
  return {
    bus,
    store,
    replica,
    lossy,
    advance: (ms: number) => {
      now += ms;
    },
    close: async () => {
      await replica.close();
      await store.close();
      await bus.close();
    },
  };
}

describe('StateReplica', () => {
  for (const seed of [1, 2, 3]) {
    it(`rebuilds each agent's relevant view from deltas (seed ${seed})`, async () => {
      const { store, replica, close } = await setup();
      const rand = seededRandom(seed);
      for (let round = 0; round < 10; round++) {
        randomUpdates(store, rand, 200);
        await settle(replica);
        assertInSync(store, replica);
      }
      assert.equal(replica.stats().gaps, 0);
      assert.ok(replica.stats().applied > 500);
      await close();
    });
  }

  it('recovers from lost deltas through a snapshot request', async () => {
    const { store, replica, lossy, close } = await setup();
    const rand = seededRandom(7);
    let n = 0;
    lossy.drop = (topic) => topic.endsWith('.state_delta') && ++n % 7 === 0;
    const gaps: number[] = [];
    replica.events.on('gap', (g) => gaps.push(g.baseVersion));
    for (let round = 0; round < 10; round++) {
      randomUpdates(store, rand, 200);
      await settle(replica);
    }
    // The last delta of an agent may be the lost one: one more change shows the gap.
    lossy.drop = () => false;
    for (const tenant of TENANTS) {
      withTenant(tenant, () => {
        for (const agentId of AGENTS) {
          store.setTags(agentId, ['navigation', 'low_battery']);
          store.set(agentId, { heading: 'final' });
        }
      });
    }
    await settle(replica);
    assertInSync(store, replica);
    const stats = replica.stats();
    assert.ok(stats.gaps > 10 && stats.snapshots === stats.gaps, JSON.stringify(stats));
    assert.equal(gaps.length, stats.gaps);
    await close();
  });

  it('catches up on agents that existed before it started', async () => {
    const lossy = new LossyTransport();
    const bus = createBus({ transport: lossy });
    const store = await createStateStore({ bus });
    withTenant('acme', () => {
      store.setTags('robot-0', ['navigation']);
      store.set('robot-0', { position: 1, heading: 2, battery_level: 3 });
    });
    const replica = await createStateReplica({ bus, agentId: 'robot-0' });
    withTenant('acme', () => store.set('robot-0', { speed: 4 }));
    await settle(replica);
    withTenant('acme', () => {
      assert.deepEqual(replica.get('robot-0'), store.view('robot-0'));
      assert.deepEqual(replica.get('robot-0')?.values, { position: 1, heading: 2, speed: 4 });
    });
    assert.equal(replica.get('robot-0'), undefined, 'not visible outside its tenant');
    await replica.close();
    await store.close();
    await bus.close();
  });

  it('drops views on expiry and deletion, and resyncs an agent recreated while a notice was lost', async () => {
    const { store, replica, lossy, advance, close } = await setup();
    withTenant('acme', () => {
      store.setTags('robot-1', ['emergency', 'navigation']);
      store.set('robot-1', { position: 'a' });
      store.set('robot-2', { mode: 'x' });
    });
    await settle(replica);
    assert.equal(replica.size, 2);
    advance(5_000);
    store.purgeExpired();
    withTenant('acme', () => store.delete('robot-2'));
    await settle(replica);
    assert.equal(replica.size, 0);
    assert.equal(replica.stats().removed, 2);

    withTenant('acme', () => store.setTags('robot-1', ['navigation']));
    withTenant('acme', () => store.set('robot-1', { position: 'b' }));
    await settle(replica);
    lossy.drop = (topic) => topic.endsWith('.state_expired');
    advance(60_000);
    store.purgeExpired();
    lossy.drop = () => false;
    withTenant('acme', () => store.set('robot-1', { mode: 'new life' }));
    withTenant('acme', () => store.setTags('robot-1', ['navigation']));
    await settle(replica);
    withTenant('acme', () => assert.deepEqual(replica.get('robot-1'), store.view('robot-1')));
    assert.equal(replica.stats().gaps, 1);
    await close();
  });

  it('started after the writes, holds every existing view at once (paged), per tenant', async () => {
    const bus = createBus();
    const store = await createStateStore({ bus });
    // 2,500 agents in acme (three pages), a few in globex and outside any tenant.
    withTenant('acme', () => {
      for (let i = 0; i < 2_500; i++) store.set(`robot-${i}`, { position: i, note: 'n' });
      store.setTags('robot-7', ['low_battery']);
      store.set('robot-7', { battery_level: 9 });
    });
    withTenant('globex', () => store.set('robot-0', { position: 'globex' }));
    store.set('system-robot', { position: 'none' });

    const all = await createStateReplica({ bus });
    assert.equal(all.size, 2_502, 'every tenant, before any new delta');
    assert.equal(all.stats().loaded, 2_502);
    for (const tenant of ['acme', 'globex']) {
      withTenant(tenant, () => {
        for (const id of ['robot-0', 'robot-7', 'robot-2499'])
          assert.deepEqual(all.get(id), store.view(id), `${tenant}/${id}`);
      });
    }
    assert.deepEqual(all.get('system-robot'), store.view('system-robot'));

    const acme = await withTenant('acme', () => createStateReplica({ bus }));
    assert.equal(acme.size, 2_500, "a tenant's replica loads its tenant only");
    withTenant('acme', () => assert.deepEqual(acme.get('robot-7')?.values, { battery_level: 9 }));
    withTenant('globex', () => assert.equal(acme.get('robot-0'), undefined));

    const one = await withTenant('globex', () => createStateReplica({ bus, agentId: 'robot-0' }));
    assert.equal(one.size, 1);
    withTenant('globex', () => assert.deepEqual(one.get('robot-0')?.values, {}));

    // It then follows deltas from there, without a gap.
    withTenant('acme', () => store.set('robot-7', { battery_level: 8 }));
    await settle(acme);
    withTenant('acme', () => assert.deepEqual(acme.get('robot-7'), store.view('robot-7')));
    assert.equal(acme.stats().gaps, 0);

    const late = await createStateReplica({ bus, initialLoad: false });
    assert.equal(late.size, 0, 'initialLoad: false waits for deltas');
    for (const r of [all, acme, one, late]) await r.close();
    await store.close();
    await bus.close();
  });

  it('answers page requests only with a cursor of the same tenant, and refuses bad ones', async () => {
    const bus = createBus();
    const store = await createStateStore({ bus });
    withTenant('acme', () => {
      for (let i = 0; i < 3; i++) store.set(`r${i}`, { position: i });
    });
    const page = async (tenant: string | undefined, payload: unknown) =>
      (await bus.request<StateSnapshotPage>(SNAPSHOTS_TOPIC, payload, { tenant })).payload;
    const first = await page('acme', { limit: 2 });
    assert.deepEqual(
      first.views.map((v) => [v.tenant, v.agentId]),
      [
        ['acme', 'r0'],
        ['acme', 'r1'],
      ],
    );
    assert.equal(typeof first.cursor, 'string');
    await rejectsWithCode(page('globex', { cursor: first.cursor }), 'REQUEST_FAILED');
    const rest = await page('acme', { cursor: first.cursor });
    assert.deepEqual(
      rest.views.map((v) => v.agentId),
      ['r2'],
    );
    assert.equal(rest.cursor, undefined, 'the last page');
    assert.deepEqual((await page('globex', {})).views, []);
    for (const bad of [{ limit: 0 }, { limit: 'x' }, { agentId: 'a.b' }, { cursor: 7 }, [1]]) {
      await rejectsWithCode(page('acme', bad), 'REQUEST_FAILED');
    }
    await store.close();
    await bus.close();
  });

  it('reports a failed initial load and goes on from deltas', async () => {
    const bus = createBus({ requestTimeoutMs: 50 });
    const replica = new StateReplica({ bus });
    const failed = Promise.withResolvers<string>();
    replica.events.on('loadFailed', ({ error }) => failed.resolve((error as { code: string }).code));
    await replica.start();
    assert.equal(await failed.promise, 'NO_RESPONDERS');
    await replica.close();
    await bus.close();
  });

  it('reports a failed snapshot request and unsubscribes on close', async () => {
    const bus = createBus({ requestTimeoutMs: 50 });
    const replica = await createStateReplica({ bus });
    const failures: string[] = [];
    replica.events.on('resyncFailed', ({ error }) => failures.push((error as { code: string }).code));
    await bus.publish('agent.x.state_delta', {
      agentId: 'x',
      version: 5,
      baseVersion: 4,
      changed: {},
      removed: [],
      tags: [],
      at: 0,
    });
    await settle(replica);
    assert.deepEqual(failures, ['NO_RESPONDERS']);
    assert.equal(replica.size, 0);
    assert.equal(bus.stats().subscriptions, 3);
    await replica.close();
    assert.equal(bus.stats().subscriptions, 0);
    await rejectsWithCode(createStateReplica({ bus: {} as never }), 'INVALID_OPTIONS');
    await bus.close();
  });
});
