import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ORSet } from './index.ts';

describe('ORSet', () => {
  it('adds and removes; a remove deletes only what it observed, so a concurrent add wins', () => {
    const a = new ORSet<string>('a');
    const b = new ORSet<string>('b');
    b.merge(a.add('x'));
    const removed = b.remove('x');
    const readded = a.add('x');
    a.merge(removed);
    b.merge(readded);
    assert.ok(a.has('x') && b.has('x'));
    const gone = a.remove('x');
    b.merge(gone);
    assert.ok(!a.has('x') && !b.has('x'));
  });

  it('identifies elements by canonical JSON', () => {
    const s = new ORSet<unknown>('a');
    s.add({ k: 1, j: [2] });
    assert.ok(s.has({ j: [2], k: 1 }));
    s.remove({ j: [2], k: 1 });
    assert.equal(s.size, 0);
  });

  it('keeps no tombstones: after many adds and removes the context is one counter per node', () => {
    const a = new ORSet<number>('a');
    const b = new ORSet<number>('b');
    for (let i = 0; i < 2_000; i++) {
      b.merge(a.add(i % 10));
      a.merge(b.remove((i * 7) % 10));
    }
    for (const s of [a, b]) {
      const state = s.state();
      assert.equal(state.context.dots, undefined, 'no out-of-order dots');
      assert.deepEqual(Object.keys(state.context.vv ?? {}), ['a']);
      assert.ok(state.entries.length <= 10);
      assert.ok(JSON.stringify(state).length < 400, `state is ${JSON.stringify(state).length} bytes`);
    }
    assert.deepEqual(a.values().sort(), b.values().sort());
  });

  it('a lost delta leaves a gap dot until a full state fills it', () => {
    const a = new ORSet<string>('a');
    const b = new ORSet<string>('b');
    a.add('lost');
    b.merge(a.add('kept').state());
    assert.ok(b.has('kept') && !b.has('lost'));
    assert.deepEqual(b.state().context, { dots: [['a', 2]] });
    b.merge(a.state());
    assert.ok(b.has('lost'));
    assert.deepEqual(b.state().context, { vv: { a: 2 } });
  });

  it('deltas are small: an add carries its element, its dot and the dots it replaces', () => {
    const a = new ORSet<string>('a');
    a.add('x');
    const delta = a.add('x').state();
    assert.deepEqual(delta, {
      type: 'or-set',
      entries: [{ value: 'x', dots: [['a', 2]] }],
      context: { vv: { a: 2 } },
    });
    assert.deepEqual(a.remove('absent').state(), { type: 'or-set', entries: [], context: {} });
  });

  it('rejects malformed and foreign JSON with CRDT_INVALID', () => {
    const bad: unknown[] = [
      { type: 'g-counter', counts: {} },
      { type: 'or-set' },
      { type: 'or-set', entries: [{ value: 1, dots: [['a', 1]] }] },
      { type: 'or-set', entries: [{ value: 1, dots: [] }], context: { vv: { a: 1 } } },
      { type: 'or-set', entries: [{ value: 1, dots: [['a', 0]] }], context: { vv: { a: 1 } } },
      { type: 'or-set', entries: [{ value: 1, dots: [['a b', 1]] }], context: { vv: { a: 1 } } },
      {
        type: 'or-set',
        entries: [
          { value: 1, dots: [['a', 1]] },
          { value: 1, dots: [['a', 2]] },
        ],
        context: { vv: { a: 2 } },
      },
      {
        type: 'or-set',
        entries: [
          { value: 1, dots: [['a', 1]] },
          { value: 2, dots: [['a', 1]] },
        ],
        context: { vv: { a: 1 } },
      },
      { type: 'or-set', entries: [], context: { vv: { a: -1 } } },
      { type: 'or-set', entries: [], context: { dots: [['a']] } },
    ];
    const s = new ORSet('me');
    for (const json of bad)
      assert.throws(() => s.merge(json), { code: 'CRDT_INVALID' }, JSON.stringify(json));
    assert.equal(s.size, 0);
  });
});
