import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AgentfleetError } from '../errors/index.ts';
import { CrdtError, GCounter, PNCounter } from './index.ts';

describe('GCounter', () => {
  it('counts, merges by per-node maximum, and its delta carries only the node entry', () => {
    const a = new GCounter('a');
    const b = new GCounter('b');
    a.increment();
    const delta = a.increment(4);
    assert.deepEqual(delta.state(), { type: 'g-counter', counts: { a: 5 } });
    b.increment(2).merge(delta);
    b.merge(delta.state()).merge(delta);
    assert.equal(b.value(), 7);
    assert.equal(a.merge(b).value(), 7);
    assert.deepEqual(GCounter.from(JSON.parse(JSON.stringify(b)), 'c').state(), b.state());
  });

  it('rejects bad amounts and local changes on a replica parsed without a node id', () => {
    const a = new GCounter('a');
    for (const n of [0, -1, 1.5, Number.NaN, 2 ** 53])
      assert.throws(() => a.increment(n), { code: 'CRDT_OP_INVALID' });
    a.increment(Number.MAX_SAFE_INTEGER);
    assert.throws(() => a.increment(), { code: 'CRDT_OP_INVALID' });
    assert.throws(() => GCounter.from({ type: 'g-counter', counts: {} }).increment(), {
      code: 'CRDT_OP_INVALID',
    });
  });

  it('rejects malformed and foreign JSON with CRDT_INVALID', () => {
    const bad: unknown[] = [
      null,
      'g-counter',
      { type: 'pn-counter', p: {} },
      { type: 'g-counter' },
      { type: 'g-counter', counts: { a: -1 } },
      { type: 'g-counter', counts: { a: 1.5 } },
      { type: 'g-counter', counts: { a: '3' } },
      { type: 'g-counter', counts: { 'bad id': 1 } },
      { type: 'g-counter', counts: { ['x'.repeat(65)]: 1 } },
      { type: 'g-counter', counts: {}, extra: true },
      { type: 'g-counter', counts: Object.fromEntries(Array.from({ length: 1025 }, (_, i) => [`n${i}`, 1])) },
    ];
    const a = new GCounter('a');
    for (const json of bad) {
      assert.throws(() => GCounter.from(json), { code: 'CRDT_INVALID' }, JSON.stringify(json)?.slice(0, 60));
      assert.throws(() => a.merge(json), { code: 'CRDT_INVALID' });
    }
    assert.equal(a.value(), 0);
    assert.throws(() => new GCounter('no.dots'), { code: 'CRDT_NODE_ID_INVALID' });
    assert.throws(
      () => a.merge({ type: 'g-counter', counts: { a: -1 } }),
      (error) =>
        error instanceof CrdtError &&
        AgentfleetError.isInstance(error) &&
        String(error.toJSON().details?.problems).startsWith('counts.a: '),
    );
  });
});

describe('PNCounter', () => {
  it('goes up and down; a delta carries one side of one node', () => {
    const a = new PNCounter('a');
    const b = new PNCounter('b');
    assert.deepEqual(a.increment(5).state(), { type: 'pn-counter', p: { a: 5 } });
    assert.deepEqual(a.decrement(2).state(), { type: 'pn-counter', n: { a: 2 } });
    b.decrement(10);
    a.merge(b.state());
    b.merge(a);
    assert.equal(a.value(), -7);
    assert.equal(b.value(), -7);
    assert.deepEqual(PNCounter.from(a.state()).state(), a.state());
  });

  it('rejects malformed and foreign JSON with CRDT_INVALID', () => {
    const bad: unknown[] = [
      { type: 'g-counter', counts: {} },
      { type: 'pn-counter', p: { a: -3 } },
      { type: 'pn-counter', n: { 'a/b': 1 } },
      { type: 'pn-counter', p: [] },
      [],
    ];
    for (const json of bad) assert.throws(() => new PNCounter('a').merge(json), { code: 'CRDT_INVALID' });
  });
});
