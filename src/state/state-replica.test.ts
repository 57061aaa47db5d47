import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rejectsWithCode, seededRandom } from '../../test/helpers.ts';
import { createBus, MemoryTransport, type OutgoingMessage } from '../bus/index.ts';
import { withTenant } from '../tenancy/context.ts';
import { type AgentStateStore, createStateStore } from './agent-state-store.ts';
import { createStateReplica, type StateReplica } from './state-replica.ts';

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
