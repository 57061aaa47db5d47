import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { HybridClock, LWWRegister } from './index.ts';

const at = (node: string, ms: () => number, maxDriftMs = 60_000) =>
  new HybridClock({ node, wallClock: ms, maxDriftMs });

describe('LWWRegister', () => {
  it('keeps the latest write; the delta is the register itself', () => {
    let wall = 1_000;
    const a = new LWWRegister<string>({ clock: at('a', () => wall) });
    const b = new LWWRegister<string>({ clock: at('b', () => wall) });
    const first = a.set('one');
    wall = 1_010;
    const second = b.set('two');
    assert.deepEqual(second.state(), {
      type: 'lww-register',
      ts: { wall: 1_010, counter: 0, node: 'b' },
      value: 'two',
    });
    a.merge(second);
    b.merge(first.state());
    assert.equal(a.value(), 'two');
    assert.equal(b.value(), 'two');
  });

  it('orders writes at the same wall time and counter by node id', () => {
    const wall = () => 500;
    const a = new LWWRegister({ clock: at('a', wall) });
    const b = new LWWRegister({ clock: at('b', wall) });
    const fromA = a.set('from a');
    const fromB = b.set('from b');
    a.merge(fromB);
    b.merge(fromA);
    assert.equal(a.value(), 'from b');
    assert.equal(b.value(), 'from b');
  });

  it('a write after a merge wins even when the local wall clock is behind', () => {
    const a = new LWWRegister({ clock: at('a', () => 10_000) });
    const b = new LWWRegister({ clock: at('b', () => 1_000) });
    b.merge(a.set('a wrote at 10 s'));
    const reply = b.set('b replied');
    assert.ok(reply.timestamp()!.wall >= 10_000);
    a.merge(reply);
    assert.equal(a.value(), 'b replied');
  });

  it('refuses a write from a node whose clock is too far ahead, changing nothing', () => {
    const a = new LWWRegister({ clock: at('a', () => 1_000, 5_000) });
    a.set('mine');
    const skewed = new LWWRegister({ clock: at('skewed', () => 1_000_000) }).set('from the future');
    assert.throws(() => a.merge(skewed.state()), { code: 'CRDT_CLOCK_SKEW' });
    assert.equal(a.value(), 'mine');
  });

  it('validates values with the given schema, on set and from JSON', () => {
    const clock = at('a', () => 1);
    const r = new LWWRegister({ clock, value: z.number().int() });
    assert.throws(() => r.set(1.5), { code: 'CRDT_OP_INVALID' });
    const json = { type: 'lww-register', ts: { wall: 1, counter: 0, node: 'b' }, value: 'text' };
    assert.throws(() => r.merge(json), { code: 'CRDT_INVALID' });
    assert.throws(() => new LWWRegister<unknown>({ clock }).set(() => 1), { code: 'CRDT_OP_INVALID' });
    assert.throws(() => new LWWRegister().set(1), { code: 'CRDT_OP_INVALID' });
  });

  it('rejects malformed and foreign JSON with CRDT_INVALID', () => {
    const ts = { wall: 1, counter: 0, node: 'b' };
    const bad: unknown[] = [
      { type: 'or-set', entries: [] },
      { type: 'lww-register', ts },
      { type: 'lww-register', value: 3 },
      { type: 'lww-register', ts: { ...ts, wall: -1 }, value: 1 },
      { type: 'lww-register', ts: { ...ts, counter: 2 ** 32 }, value: 1 },
      { type: 'lww-register', ts: { ...ts, node: '' }, value: 1 },
      { type: 'lww-register', ts: { ...ts, extra: 1 }, value: 1 },
    ];
    for (const json of bad)
      assert.throws(() => LWWRegister.from(json), { code: 'CRDT_INVALID' }, JSON.stringify(json));
    assert.equal(LWWRegister.from({ type: 'lww-register' }).value(), undefined);
    assert.equal(LWWRegister.from({ type: 'lww-register', ts, value: null }).value(), null);
  });
});
