import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareHlc, HybridClock } from './index.ts';

function manual(node: string, start = 1_000, maxDriftMs = 5_000) {
  let wall = start;
  const clock = new HybridClock({ node, maxDriftMs, wallClock: () => wall });
  return { clock, set: (ms: number) => (wall = ms) };
}

describe('HybridClock', () => {
  it('follows wall time and counts events within one millisecond', () => {
    const { clock, set } = manual('a');
    assert.deepEqual(clock.now(), { wall: 1_000, counter: 0, node: 'a' });
    assert.deepEqual(clock.now(), { wall: 1_000, counter: 1, node: 'a' });
    set(1_005);
    assert.deepEqual(clock.now(), { wall: 1_005, counter: 0, node: 'a' });
  });

  it('never goes backwards when wall time does', () => {
    const { clock, set } = manual('a', 2_000);
    const before = clock.now();
    set(1_000);
    const after = clock.now();
    assert.ok(compareHlc(after, before) > 0);
    assert.equal(after.wall, 2_000);
  });

  it('orders a receive after the remote event and after every local one', () => {
    const a = manual('a', 1_000);
    const b = manual('b', 1_000);
    b.set(3_000);
    const remote = b.clock.now();
    const local = a.clock.now();
    const received = a.clock.receive(remote);
    assert.ok(compareHlc(received, remote) > 0 && compareHlc(received, local) > 0);
    assert.deepEqual(received, { wall: 3_000, counter: 1, node: 'a' });
    assert.ok(compareHlc(a.clock.now(), received) > 0);
    // Same wall time on both sides: the counter passes both.
    const again = a.clock.receive({ wall: 3_000, counter: 7, node: 'b' });
    assert.deepEqual(again, { wall: 3_000, counter: 8, node: 'a' });
  });

  it('breaks ties by node id, giving a total order', () => {
    const x = { wall: 5, counter: 1, node: 'a' };
    const y = { wall: 5, counter: 1, node: 'b' };
    assert.equal(compareHlc(x, y), -1);
    assert.equal(compareHlc(y, x), 1);
    assert.equal(compareHlc(x, { ...x }), 0);
    assert.equal(compareHlc({ wall: 4, counter: 9, node: 'z' }, x), -1);
  });

  it('refuses a remote timestamp further ahead than maxDriftMs, leaving the clock as it was', () => {
    const { clock } = manual('a', 1_000, 5_000);
    const before = clock.now();
    assert.throws(
      () => clock.receive({ wall: 6_001, counter: 0, node: 'skewed' }),
      (e: { code?: string; details?: Record<string, unknown> }) =>
        e.code === 'CRDT_CLOCK_SKEW' && e.details?.aheadMs === 5_001 && e.details?.node === 'skewed',
    );
    assert.deepEqual(clock.peek(), before);
    assert.equal(clock.receive({ wall: 6_000, counter: 0, node: 'ok' }).wall, 6_000);
  });

  it('rejects bad node ids and options with typed errors', () => {
    for (const node of ['', 'a.b', 'x'.repeat(65), 'a b', '__proto__', 'a*']) {
      assert.throws(() => new HybridClock({ node }), { code: 'CRDT_NODE_ID_INVALID' }, node);
    }
    assert.equal(new HybridClock({ node: 'n-1:eu@az_2' }).node, 'n-1:eu@az_2');
    assert.throws(() => new HybridClock({ node: 'a', maxDriftMs: 0 }), { code: 'INVALID_OPTIONS' });
  });
});
