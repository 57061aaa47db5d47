import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LocalTokenBuckets } from './token-bucket.ts';

/** Counts iterations of any Map while `fn` runs (a scan of the buckets would be one). */
function mapIterations(fn: () => void): number {
  const proto = Map.prototype as unknown as Record<PropertyKey, (...args: unknown[]) => unknown>;
  const names: PropertyKey[] = [Symbol.iterator, 'entries', 'keys', 'values', 'forEach'];
  const saved = names.map((n) => proto[n]!);
  let count = 0;
  names.forEach((n, i) => {
    proto[n] = function (this: unknown, ...args: unknown[]) {
      count++;
      return saved[i]!.apply(this, args);
    };
  });
  try {
    fn();
  } finally {
    names.forEach((n, i) => {
      proto[n] = saved[i]!;
    });
  }
  return count;
}

describe('LocalTokenBuckets', () => {
  it('holds at most maxKeys buckets however many keys are used, and never scans them', () => {
    const now = 0;
    const buckets = new LocalTokenBuckets(5, 1, () => now);
    const iterations = mapIterations(() => {
      for (let i = 0; i < 250_000; i++) assert.equal(buckets.take(`k${i}`, 5), 0); // drained: none is idle-full
    });
    assert.ok(buckets.size <= 100_000, `${buckets.size} buckets`);
    assert.equal(iterations, 0, 'no scan of the buckets');
    const small = new LocalTokenBuckets(5, 1, () => now, 10);
    for (let i = 0; i < 1_000; i++) small.take(`k${i}`, 1);
    assert.ok(small.size <= 10, `${small.size} buckets`);
  });

  it('forgets keys idle for a full refill, and keeps the state of keys used since', () => {
    let now = 0;
    const buckets = new LocalTokenBuckets(10, 10, () => now); // empty to full in 1 s
    for (let i = 0; i < 100; i++) buckets.take(`idle${i}`, 10);
    now = 900;
    assert.equal(buckets.take('k', 10), 0);
    now = 1_000;
    buckets.take('other', 1); // a new generation: the idle keys and k move to the previous one
    assert.equal(buckets.size, 102);
    now = 1_100;
    assert.equal(buckets.take('k', 10), 800, 'k refilled 2 tokens in 200 ms; 8 more take 800 ms');
    now = 2_000;
    buckets.take('other', 1); // the previous generation (used before 1 s) is dropped
    assert.equal(buckets.size, 2, 'k and other');
    assert.equal(buckets.take('idle0', 10), 0, 'a forgotten key starts full, as it would have been');
  });
});
