import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { liveResources, throwsWithCode } from '../../test/helpers.ts';
import { createBus } from '../bus/index.ts';
import { AgentStateStore, createStateStore } from './agent-state-store.ts';
import type { StateExpiredEvent } from './state-types.ts';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Counts timers created and cleared while `fn` runs (they are what a per-key TTL would cost). */
async function countTimers<T>(fn: () => Promise<T>): Promise<{ result: T; created: number; live: number }> {
  const { setTimeout: st, setInterval: si, clearTimeout: ct, clearInterval: ci } = globalThis;
  const live = new Set<unknown>();
  let created = 0;
  const track = <A extends unknown[], R>(make: (...args: A) => R) => {
    return (...args: A): R => {
      const timer = make(...args);
      created++;
      live.add(timer);
      return timer;
    };
  };
  const untrack = (clear: (timer: never) => void) => (timer: never) => {
    live.delete(timer);
    clear(timer);
  };
  globalThis.setTimeout = track(st) as typeof setTimeout;
  globalThis.setInterval = track(si) as typeof setInterval;
  globalThis.clearTimeout = untrack(ct) as typeof clearTimeout;
  globalThis.clearInterval = untrack(ci) as typeof clearInterval;
  try {
    const result = await fn();
    return { result, created, live: live.size };
  } finally {
    Object.assign(globalThis, { setTimeout: st, setInterval: si, clearTimeout: ct, clearInterval: ci });
  }
}

describe('AgentStateStore expiry', () => {
  it('takes the TTL from the current tags on every touch', () => {
    let now = 0;
    const store = new AgentStateStore({ clock: () => now });
    store.set('a', { x: 1 });
    assert.deepEqual([store.get('a')?.expiresAt, store.get('a')?.ttlRule], [60_000, 'default']);
    now = 50_000;
    store.set('a', { x: 1 }); // no change, still a touch
    assert.equal(store.get('a')?.expiresAt, 110_000);
    store.setTags('a', ['user_active', 'emergency']);
    assert.deepEqual([store.get('a')?.expiresAt, store.get('a')?.ttlRule], [55_000, 'emergency']);
    store.setTags('a', ['idle_background']);
    assert.equal(store.get('a')?.expiresAt, 350_000);
    now = 349_999;
    assert.ok(store.get('a'));
    now = 350_000;
    assert.equal(store.get('a'), undefined, 'past its deadline it is gone, even before a purge');
    assert.equal(store.stats().expired, 1);
    void store.close();
  });

  it('purges in batches of maxExpiriesPerTick, with an event and a bus notice for each', async () => {
    let now = 0;
    const bus = createBus();
    const store = await createStateStore({ bus, clock: () => now, maxExpiriesPerTick: 1000 });
    const events: StateExpiredEvent[] = [];
    store.events.on('expired', (e) => events.push(e));
    const notices: StateExpiredEvent[] = [];
    await bus.subscribe<StateExpiredEvent>(
      'agent.*.state_expired',
      (m) => {
        notices.push(m.payload);
      },
      { buffer: 10_000 },
    );
    const tags = [['emergency'], ['user_active'], [], ['idle_background']];
    for (let i = 0; i < 4000; i++) store.setTags(`a${i}`, tags[i % 4] as string[]);
    assert.equal(store.size, 4000);

    now = 5_000; // the 1000 emergency states
    assert.equal(store.purgeExpired(), 1000);
    assert.equal(store.purgeExpired(), 0);
    now = 300_000; // the other 3000, 1000 per tick
    assert.deepEqual([store.purgeExpired(), store.purgeExpired(), store.purgeExpired()], [1000, 1000, 1000]);
    assert.equal(store.purgeExpired(), 0);
    assert.equal(store.size, 0);
    assert.equal(events.length, 4000);
    assert.deepEqual(events[0], {
      agentId: 'a0',
      tenant: undefined,
      version: 1,
      expiredAt: 5_000,
      ttlRule: 'emergency',
    });
    const order = events.map((e) => e.ttlRule);
    assert.deepEqual(
      [order[999], order[1000], order[2000], order[3999]],
      ['emergency', 'user_active', 'default', 'idle_background'],
    );
    await turn();
    assert.equal(notices.length, 4000);
    assert.deepEqual(notices[0], events[0]);
    assert.deepEqual(store.stats(), { ...store.stats(), agents: 0, keys: 0, bytes: 0, expired: 4000 });
    await store.close();
    await bus.close();
  });

  it('a touch moves the deadline: the old one never fires', () => {
    let now = 0;
    const store = new AgentStateStore({ clock: () => now });
    store.setTags('a', ['emergency']); // 5 s
    now = 4_000;
    store.set('a', { x: 1 }); // → 9 s
    now = 5_000;
    assert.equal(store.purgeExpired(), 0);
    now = 9_000;
    assert.equal(store.purgeExpired(), 1);
    void store.close();
  });

  it('uses one interval for all agents, never a timer per key', async () => {
    const before = liveResources().Timeout ?? 0;
    const { created, live, result } = await countTimers(async () => {
      let now = 0;
      const bus = createBus();
      const store = await createStateStore({ bus, clock: () => now });
      for (let i = 0; i < 20_000; i++) store.set(`a${i}`, { x: i });
      for (let i = 0; i < 20_000; i += 2) store.setTags(`a${i}`, ['user_active']);
      now = 100_000;
      while (store.purgeExpired() > 0);
      assert.equal(store.size, 0);
      return { during: liveResources().Timeout ?? 0, store, bus };
    });
    assert.equal(created, 1, 'one setInterval, no setTimeout');
    assert.equal(live, 1);
    assert.ok(result.during <= before + 1);
    await result.store.close();
    await result.bus.close();
  });
});

describe('AgentStateStore close', () => {
  it('clears its interval, unsubscribes, drops state, and refuses further writes', async () => {
    const bus = createBus();
    const subscriptionsBefore = bus.stats().subscriptions;
    const resourcesBefore = liveResources();
    const { created, live } = await countTimers(async () => {
      const store = await createStateStore({ bus });
      store.events.on('expired', () => {});
      store.set('a', { x: 1 });
      assert.equal(bus.stats().subscriptions, subscriptionsBefore + 2, 'snapshots and snapshot pages');
      await store.close();
      await store.close(); // idempotent
      assert.equal(store.events.listenerCount('expired'), 0);
      assert.equal(store.size, 0);
      throwsWithCode(() => store.set('a', { x: 1 }), 'STATE_STORE_CLOSED');
      assert.equal(store.purgeExpired(Number.MAX_SAFE_INTEGER), 0);
    });
    assert.equal(created, 1);
    assert.equal(live, 0, 'the interval was cleared');
    assert.equal(bus.stats().subscriptions, subscriptionsBefore);
    await bus.close();
    assert.deepEqual(liveResources(), resourcesBefore);
  });

  it('reports publish failures without undoing the change', async () => {
    const bus = createBus();
    const store = await createStateStore({ bus, config: { alwaysRelevant: ['x'] } });
    const failures: string[] = [];
    store.events.on('publishError', ({ topic, error }) =>
      failures.push(`${topic} ${(error as { code: string }).code}`),
    );
    await bus.close();
    const update = store.set('a', { x: 1 });
    await assert.rejects(update.sent as Promise<void>, { code: 'BUS_CLOSED' });
    assert.deepEqual(failures, ['agent.a.state_delta BUS_CLOSED']);
    assert.deepEqual(store.get('a')?.values, { x: 1 });
    assert.equal(store.stats().publishErrors, 1);
    await store.close();
  });
});
