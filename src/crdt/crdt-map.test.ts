import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CrdtMap, GCounter, HybridClock } from './index.ts';

const clock = (node: string) => new HybridClock({ node });

describe('CrdtMap', () => {
  it('holds named CRDTs of every kind; a delta carries only the field it changed', () => {
    const a = new CrdtMap(clock('a'));
    const b = new CrdtMap(clock('b'));
    const delta = a.update('hits', 'g-counter', (c) => c.increment(3));
    assert.deepEqual(delta.state(), {
      type: 'crdt-map',
      entries: { hits: { type: 'g-counter', counts: { a: 3 } } },
    });
    b.merge(delta.state());
    a.merge(b.update('hits', 'g-counter', (c) => c.increment()));
    a.merge(b.update('owner', 'lww-register', (r) => r.set('b')));
    a.merge(b.update('tags', 'or-set', (s) => s.add('red')));
    a.merge(b.update('balance', 'pn-counter', (c) => c.decrement(2)));
    b.merge(a);
    assert.deepEqual(a.value(), { hits: 4, owner: 'b', tags: ['red'], balance: -2 });
    assert.deepEqual(b.value(), a.value());
    assert.ok(a.get('hits') instanceof GCounter);
    assert.deepEqual(CrdtMap.from(JSON.parse(JSON.stringify(a))).value(), a.value());
  });

  it('refuses a field of another kind, locally and from a delta', () => {
    const a = new CrdtMap(clock('a'));
    a.update('hits', 'g-counter', (c) => c.increment());
    assert.throws(() => a.update('hits', 'pn-counter', (c) => c.increment()), { code: 'CRDT_OP_INVALID' });
    const foreign = { type: 'crdt-map', entries: { hits: { type: 'pn-counter', p: { b: 1 } } } };
    assert.throws(() => a.merge(foreign), { code: 'CRDT_INVALID' });
    assert.equal(a.value().hits, 1);
  });

  it('checks every register clock before changing any field', () => {
    const a = new CrdtMap(new HybridClock({ node: 'a', maxDriftMs: 1_000, wallClock: () => 0 }));
    const future = new CrdtMap(new HybridClock({ node: 'f', wallClock: () => 1e9 }));
    future.update('hits', 'g-counter', (c) => c.increment());
    future.update('owner', 'lww-register', (r) => r.set('f'));
    assert.throws(() => a.merge(future.state()), { code: 'CRDT_CLOCK_SKEW' });
    assert.deepEqual(a.keys(), []);
  });

  it('rejects malformed and foreign JSON with CRDT_INVALID naming the field', () => {
    const bad: unknown[] = [
      { type: 'g-counter', counts: {} },
      { type: 'crdt-map' },
      { type: 'crdt-map', entries: { x: { type: 'mystery' } } },
      { type: 'crdt-map', entries: { x: 3 } },
      { type: 'crdt-map', entries: { '': { type: 'g-counter', counts: {} } } },
      { type: 'crdt-map', entries: { x: { type: 'crdt-map', entries: {} } } },
    ];
    for (const json of bad)
      assert.throws(() => CrdtMap.from(json), { code: 'CRDT_INVALID' }, JSON.stringify(json));
    assert.throws(
      () => CrdtMap.from({ type: 'crdt-map', entries: { hits: { type: 'g-counter', counts: { a: -1 } } } }),
      (e: Error & { code?: string }) => e.code === 'CRDT_INVALID' && e.message.includes('entries.hits'),
    );
    assert.throws(() => new CrdtMap().update('x', 'g-counter', (c) => c.increment()), {
      code: 'CRDT_OP_INVALID',
    });
  });
});
