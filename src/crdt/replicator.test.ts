import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually, liveResources, noMoreResourcesThan, seededRandom, sleep } from '../../test/helpers.ts';
import { type Bus, createBus, MemoryHub, MemoryTransport } from '../bus/index.ts';
import { currentTenantId, withTenant } from '../context/index.ts';
import { type LossyTransport, lossyTransport } from '../testing/index.ts';
import { type CrdtError, CrdtReplicator } from './index.ts';

interface Node {
  bus: Bus;
  lossy: LossyTransport;
  replicator: CrdtReplicator;
  errors: CrdtError[];
}

async function node(hub: MemoryHub, id: string, seed: number, lossy = true): Promise<Node> {
  const transport = lossyTransport(new MemoryTransport(hub), {
    seed,
    ...(lossy && { drop: 0.25, duplicate: 0.2, reorder: 0.3 }),
  });
  const bus = createBus({ transport });
  const errors: CrdtError[] = [];
  const replicator = await CrdtReplicator.open({
    bus,
    node: id,
    name: 'shared',
    antiEntropyMs: 50,
    onInvalid: (e) => errors.push(e),
  });
  return { bus, lossy: transport, replicator, errors };
}

function declare(r: CrdtReplicator) {
  return {
    visits: r.crdt('visits', 'g-counter'),
    balance: r.crdt('balance', 'pn-counter'),
    owner: r.crdt('owner', 'lww-register'),
    tags: r.crdt('tags', 'or-set'),
    agent: r.crdt('agent', 'crdt-map'),
  };
}

function snapshot(r: CrdtReplicator) {
  const d = declare(r);
  return {
    visits: d.visits.value(),
    balance: d.balance.value(),
    owner: d.owner.value(),
    tags: (d.tags.value() as string[]).slice().sort(),
    agent: JSON.stringify(
      Object.fromEntries(
        Object.entries(d.agent.value())
          .sort()
          .map(([k, v]) => [k, Array.isArray(v) ? v.slice().sort() : v]),
      ),
    ),
  };
}

async function closeAll(nodes: Node[]): Promise<void> {
  for (const n of nodes) {
    await n.replicator.close();
    await n.bus.close();
  }
}

describe('CrdtReplicator', () => {
  it('three replicas converge after drops, duplicates, reordering and a healed partition', async () => {
    const hub = new MemoryHub();
    const nodes = [await node(hub, 'a', 1), await node(hub, 'b', 2), await node(hub, 'c', 3)];
    for (const n of nodes) declare(n.replicator);
    const random = seededRandom(42);
    let visits = 0;
    let balance = 0;
    const run = async (ops: number) => {
      for (let i = 0; i < ops; i++) {
        const n = nodes[Math.floor(random() * 3)]!;
        const d = declare(n.replicator);
        const r = random();
        if (r < 0.25) {
          d.visits.update((c) => c.increment(2));
          visits += 2;
        } else if (r < 0.45) {
          if (random() < 0.5) {
            d.balance.update((c) => c.increment(3));
            balance += 3;
          } else {
            d.balance.update((c) => c.decrement(1));
            balance -= 1;
          }
        } else if (r < 0.6) d.owner.update((reg) => reg.set(`owner-${i}`));
        else if (r < 0.8) {
          const tag = `t${Math.floor(random() * 10)}`;
          d.tags.update((s) => (random() < 0.6 ? s.add(tag) : s.remove(tag)));
        } else d.agent.update((m) => m.update('steps', 'g-counter', (c) => c.increment()));
        if (i % 10 === 0) await sleep(1);
      }
    };
    await run(150);
    nodes[2]!.lossy.partitioned = true; // c is cut off, and keeps writing alone
    await run(150);
    nodes[2]!.lossy.partitioned = false;
    const healedAt = Date.now();
    await eventually(() => {
      const [a, b, c] = nodes.map((n) => JSON.stringify(snapshot(n.replicator)));
      return a === b && b === c;
    }, 10_000);
    const took = Date.now() - healedAt;
    for (const n of nodes) {
      assert.equal(declare(n.replicator).visits.value(), visits);
      assert.equal(declare(n.replicator).balance.value(), balance);
      assert.deepEqual(n.errors, []);
    }
    assert.ok(nodes[0]!.lossy.stats().dropped > 0 && nodes[0]!.lossy.stats().duplicated > 0);
    assert.ok(nodes[2]!.lossy.stats().partitioned > 0);
    assert.ok(took < 10_000);
    await closeAll(nodes);
  });

  it('refuses malformed and foreign deltas with typed errors and changes nothing', async () => {
    const hub = new MemoryHub();
    const [a] = [await node(hub, 'a', 1, false)];
    const raw = createBus({ transport: new MemoryTransport(hub) });
    const visits = a!.replicator.crdt('visits', 'g-counter');
    const owner = a!.replicator.crdt('owner', 'lww-register');
    visits.update((c) => c.increment(5));
    const before = JSON.stringify([visits.crdt.state(), owner.crdt.state()]);
    const bad: unknown[] = [
      'not an object',
      { from: 'x', name: 'visits', delta: { type: 'pn-counter', p: { x: 1 } } }, // wrong kind
      { from: 'x', name: 'visits', delta: { type: 'g-counter', counts: { 'bad id!': 1 } } }, // bad node id
      { from: 'x', name: 'visits', delta: { type: 'g-counter', counts: { x: -1 } } },
      { from: 'bad id!', name: 'visits', delta: { type: 'g-counter', counts: { x: 1 } } },
      { from: 'x', name: 'nobody', delta: { type: 'g-counter', counts: { x: 1 } } }, // unknown name
      { from: 'x', name: 'visits', delta: { type: 'g-counter', counts: { x: 1 } }, extra: 1 },
      {
        from: 'x',
        name: 'owner',
        delta: {
          type: 'lww-register',
          ts: { wall: Date.now() + 3_600_000, counter: 0, node: 'x' },
          value: 1,
        },
      }, // clock skew
      { from: 'x', name: 'visits', delta: { type: 'g-counter', counts: { x: 1 }, pad: 'y'.repeat(300_000) } },
    ];
    for (const payload of bad) await raw.publish('crdt.shared.delta', payload);
    await raw.publish('crdt.shared.digest', { from: 'x', digests: { visits: { type: 'g-counter' } } });
    await raw.publish('crdt.shared.other', { from: 'x' });
    await eventually(() => a!.errors.length === bad.length + 2);
    assert.deepEqual(
      a!.errors.map((e) => e.code),
      [
        'CRDT_INVALID',
        'CRDT_INVALID',
        'CRDT_INVALID',
        'CRDT_INVALID',
        'CRDT_INVALID',
        'CRDT_FOREIGN',
        'CRDT_INVALID',
        'CRDT_CLOCK_SKEW',
        'CRDT_TOO_LARGE',
        'CRDT_INVALID',
        'CRDT_FOREIGN',
      ],
    );
    assert.equal(JSON.stringify([visits.crdt.state(), owner.crdt.state()]), before);
    assert.equal(a!.replicator.stats().invalid, bad.length + 2);
    // A good delta still merges after all that.
    await raw.publish('crdt.shared.delta', {
      from: 'x',
      name: 'visits',
      delta: { type: 'g-counter', counts: { x: 1 } },
    });
    await eventually(() => visits.value() === 6);
    await raw.close();
    await closeAll([a!]);
  });

  it('keeps tenants apart: a replica merges only its own tenant, runs its timer in it', async () => {
    const hub = new MemoryHub();
    const bus = createBus({ transport: new MemoryTransport(hub) });
    const errors: string[] = [];
    const hookTenants = new Set<string | undefined>();
    const open = (tenant: string | undefined, node: string) => {
      const go = () =>
        CrdtReplicator.open({
          bus,
          node,
          name: 'usage',
          antiEntropyMs: 20,
          onInvalid: (e) => {
            errors.push(e.code);
            hookTenants.add(currentTenantId());
          },
        });
      return tenant === undefined ? go() : withTenant(tenant, go);
    };
    const a1 = await open('acme', 'a1');
    const a2 = await open('acme', 'a2');
    const g1 = await open('globex', 'g1');
    const system = await open(undefined, 's1');
    const tokens = (r: CrdtReplicator) => r.crdt('tokens', 'g-counter');
    for (const r of [a1, a2, g1, system]) tokens(r);
    withTenant('acme', () => tokens(a1).update((c) => c.increment(10)));
    withTenant('globex', () => tokens(g1).update((c) => c.increment(1)));
    await eventually(() => tokens(a2).value() === 10);
    await sleep(60); // a few anti-entropy rounds: digests stay in their tenant too
    assert.equal(tokens(g1).value(), 1);
    assert.equal(tokens(system).value(), 0);
    assert.ok(
      errors.length > 0 && errors.every((c) => c === 'CRDT_FOREIGN'),
      'the system replica refuses tenants',
    );
    assert.deepEqual(
      [...hookTenants],
      [undefined],
      "the hook runs in the replica's scope, not the message's",
    );
    assert.throws(
      () => withTenant('globex', () => tokens(a1).update((c) => c.increment())),
      (e: { code?: string }) => e.code === 'TENANT_MISMATCH',
    );
    assert.equal(tokens(a1).value(), 10);
    for (const r of [a1, a2, g1, system]) await r.close();
    assert.throws(
      () => tokens(a1).update((c) => c.increment()),
      (e: { code?: string }) => e.code === 'CRDT_REPLICATOR_CLOSED',
    );
    await bus.close();
  });

  it('a replica that joins late is brought up to date by anti-entropy; close leaves nothing behind', async () => {
    const baseline = liveResources();
    const hub = new MemoryHub();
    const a = await node(hub, 'a', 1, false);
    const tags = a.replicator.crdt('tags', 'or-set');
    for (const t of ['x', 'y', 'z']) tags.update((s) => s.add(t));
    tags.update((s) => s.remove('y'));
    const b = await node(hub, 'b', 2, false);
    const late = b.replicator.crdt('tags', 'or-set');
    await eventually(() => late.value().length === 2);
    assert.deepEqual((late.value() as string[]).sort(), ['x', 'z']);
    assert.throws(
      () => b.replicator.crdt('tags', 'g-counter'),
      (e: { code?: string }) => e.code === 'CRDT_OP_INVALID',
    );
    await closeAll([a, b]);
    await noMoreResourcesThan(baseline);
  });

  it('adopt declares a peer’s names on first sight (delta or digest); drop forgets one here', async () => {
    const hub = new MemoryHub();
    const a = await node(hub, 'a', 1, false);
    const bus = createBus({ transport: new MemoryTransport(hub) });
    const errors: CrdtError[] = [];
    const b = await CrdtReplicator.open({
      bus,
      node: 'b',
      name: 'shared',
      antiEntropyMs: 50,
      adopt: (name) => (name.startsWith('count.') ? 'g-counter' : undefined),
      onInvalid: (e) => errors.push(e),
    });
    // Declared on a before b listens to it: b adopts it from a's digest, then a repairs it.
    a.replicator.crdt('count.old', 'g-counter').update((c) => c.increment(4));
    await eventually(() => b.get('count.old')?.value() === 4);
    // A delta of a name b has never seen is adopted and merged at once.
    a.replicator.crdt('count.new', 'g-counter').update((c) => c.increment(2));
    await eventually(() => b.get('count.new')?.value() === 2);
    // A name adopt refuses is not declared; its delta is refused as before.
    a.replicator.crdt('other', 'g-counter').update((c) => c.increment());
    await eventually(() => errors.some((e) => e.code === 'CRDT_FOREIGN'));
    assert.equal(b.get('other'), undefined);
    assert.deepEqual(b.names().sort(), ['count.new', 'count.old']);
    assert.equal(b.drop('count.old'), true);
    assert.equal(b.drop('count.old'), false);
    assert.equal(b.get('count.old'), undefined);
    await b.close();
    await bus.close();
    await closeAll([a]);
  });
});
