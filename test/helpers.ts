import assert from 'node:assert/strict';

/** Asserts that a promise rejects with an Agentfleet error of this code, and returns the error. */
export async function rejectsWithCode(
  promise: Promise<unknown>,
  code: string,
): Promise<Error & { code: string; details?: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    assert.equal((error as { code?: string }).code, code, `expected ${code}, got ${String(error)}`);
    return error as Error & { code: string };
  }
  assert.fail(`expected a rejection with ${code}, but it resolved`);
}

/** Asserts that a function throws an Agentfleet error of this code. */
export function throwsWithCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (error: { code?: string }) => {
    assert.equal(error.code, code, `expected ${code}, got ${String(error)}`);
    return true;
  });
}

/** Counts of timers and other live resources, to check nothing is left behind. */
export function liveResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `predicate` holds, polling each tick, failing after `timeoutMs`. */
export async function eventually(predicate: () => boolean, timeoutMs = 2_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) assert.fail('condition not met in time');
    await sleep(1);
  }
}

/** Waits until no kind of live resource (timers, sockets, …) outnumbers `baseline`: a leak never gets there. */
export async function noMoreResourcesThan(baseline: Record<string, number>): Promise<void> {
  let now: Record<string, number> = {};
  await eventually(() => {
    now = liveResources();
    return Object.entries(now).every(([kind, n]) => n <= (baseline[kind] ?? 0));
  }).catch(() => assert.deepEqual(now, baseline, 'resources left behind'));
}

/** A deterministic PRNG (mulberry32) returning numbers in [0, 1), so a failing run can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
