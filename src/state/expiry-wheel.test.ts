import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom, throwsWithCode } from '../../test/helpers.ts';
import { ExpiryEntry, ExpiryWheel } from './expiry-wheel.ts';

class Key extends ExpiryEntry {
  readonly id: number;
  constructor(id: number) {
    super();
    this.id = id;
  }
}

describe('ExpiryWheel', () => {
  it('expires a million keys exactly at their deadlines, rescheduled ones at the new deadline only', () => {
    const N = 1_000_000;
    const rand = seededRandom(42);
    const wheel = new ExpiryWheel<Key>({ tickMs: 1000, maxPerAdvance: 50_000, now: 0 });
    const keys = Array.from({ length: N }, (_, i) => new Key(i));
    const deadline = new Float64Array(N);
    for (const key of keys) {
      deadline[key.id] = 1 + Math.floor(rand() * 300_000); // up to 300 s
      wheel.schedule(key, deadline[key.id] as number);
    }
    // Touch half of them again (state changed → new deadline), some twice.
    for (let i = 0; i < N; i += 2) {
      const key = keys[i] as Key;
      deadline[i] = (deadline[i] as number) + Math.floor(rand() * 100_000) - 50_000;
      if (deadline[i]! < 1) deadline[i] = 1;
      wheel.schedule(key, deadline[i] as number);
      if (i % 10 === 0) {
        deadline[i] = 10_000 + Math.floor(rand() * 290_000);
        wheel.schedule(key, deadline[i] as number);
      }
    }
    assert.equal(wheel.size, N);

    const seen = new Uint8Array(N);
    let expired = 0;
    let lastTick = -1;
    for (let now = 0; now <= 400_000; now += 250) {
      do {
        const batch = wheel.advance(now);
        assert.ok(batch.length <= 50_000);
        for (const key of batch) {
          const d = deadline[key.id] as number;
          assert.ok(d <= now, `key ${key.id} expired early: deadline ${d}, now ${now}`);
          assert.equal(seen[key.id], 0, `key ${key.id} expired twice`);
          seen[key.id] = 1;
          const tick = Math.floor(d / 1000);
          assert.ok(tick >= lastTick, 'expired out of tick order');
          lastTick = tick;
          expired++;
        }
      } while (wheel.behind);
      // Nothing due is left behind: exactly the keys with deadline <= now are gone.
      if (now % 50_000 === 0) {
        let due = 0;
        for (let i = 0; i < N; i++) if ((deadline[i] as number) <= now) due++;
        assert.equal(expired, due, `at ${now}`);
        assert.equal(wheel.size, N - due);
      }
    }
    assert.equal(expired, N);
    assert.equal(wheel.size, 0);
  });

  it('returns at most maxPerAdvance per call and the rest on the next', () => {
    const wheel = new ExpiryWheel<Key>({ tickMs: 10, maxPerAdvance: 1000, now: 0 });
    for (let i = 0; i < 2500; i++) wheel.schedule(new Key(i), 5 + (i % 50));
    assert.equal(wheel.advance(100).length, 1000);
    assert.equal(wheel.behind, true);
    assert.equal(wheel.advance(100).length, 1000);
    assert.equal(wheel.advance(100).length, 500);
    assert.equal(wheel.behind, false);
    assert.equal(wheel.size, 0);
    assert.deepEqual(wheel.advance(1000), []);
  });

  it('expires in deadline-tick order, scheduling order within a tick', () => {
    const wheel = new ExpiryWheel<Key>({ tickMs: 100, now: 0 });
    const order = [350, 120, 399, 101, 250, 180];
    order.forEach((d, i) => {
      wheel.schedule(new Key(i), d);
    });
    const ids = wheel.advance(1000).map((k) => k.id);
    // ticks: 101,120,180 → tick 1 (in scheduling order 1,3,5); 250 → 2; 350,399 → 3.
    assert.deepEqual(ids, [1, 3, 5, 4, 0, 2]);
  });

  it('never expires early within the current tick', () => {
    const wheel = new ExpiryWheel<Key>({ tickMs: 1000, now: 0 });
    const a = new Key(1);
    const b = new Key(2);
    wheel.schedule(a, 1200);
    wheel.schedule(b, 1800);
    assert.deepEqual(
      wheel.advance(1500).map((k) => k.id),
      [1],
    );
    assert.deepEqual(wheel.advance(1799), []);
    assert.deepEqual(
      wheel.advance(1800).map((k) => k.id),
      [2],
    );
  });

  it('cancel and reschedule unlink the old position', () => {
    const wheel = new ExpiryWheel<Key>({ tickMs: 10, slots: 8, now: 0 });
    const a = new Key(1);
    const b = new Key(2);
    const c = new Key(3);
    wheel.schedule(a, 15);
    wheel.schedule(b, 15);
    wheel.schedule(c, 15);
    assert.equal(wheel.cancel(b), true);
    assert.equal(wheel.cancel(b), false);
    wheel.schedule(a, 500); // several revolutions of 80 ms away
    assert.deepEqual(
      wheel.advance(20).map((k) => k.id),
      [3],
    );
    assert.deepEqual(wheel.advance(499), []);
    assert.deepEqual(
      wheel.advance(500).map((k) => k.id),
      [1],
    );
    assert.equal(a.slot, -1);
    assert.equal(wheel.size, 0);
  });

  it('catches up after a clock jump of many revolutions, and takes past deadlines next', () => {
    const wheel = new ExpiryWheel<Key>({ tickMs: 10, slots: 16, now: 0 });
    for (let i = 0; i < 100; i++) wheel.schedule(new Key(i), i * 37);
    assert.equal(wheel.advance(1_000_000).length, 100);
    const late = new Key(999);
    wheel.schedule(late, 5); // already past: due at the next advance
    assert.deepEqual(
      wheel.advance(1_000_000).map((k) => k.id),
      [999],
    );
  });

  it('clear unschedules everything', () => {
    const wheel = new ExpiryWheel<Key>({ now: 0 });
    const keys = Array.from({ length: 10 }, (_, i) => new Key(i));
    for (const key of keys) wheel.schedule(key, 5000);
    wheel.clear();
    assert.equal(wheel.size, 0);
    assert.ok(keys.every((k) => k.slot === -1 && k.next === undefined));
    assert.deepEqual(wheel.advance(10_000), []);
  });

  it('validates its options', () => {
    throwsWithCode(() => new ExpiryWheel({ slots: 1000 }), 'INVALID_OPTIONS');
    throwsWithCode(() => new ExpiryWheel({ tickMs: 0 }), 'INVALID_OPTIONS');
    throwsWithCode(() => new ExpiryWheel({ maxPerAdvance: 0 }), 'INVALID_OPTIONS');
  });
});
