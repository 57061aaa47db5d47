import assert from 'node:assert/strict';

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits until `predicate` holds, polling every millisecond.
 * @param timeoutMs how long to wait, in ms (default 2 000).
 * @throws AssertionError when it does not hold in time.
 */
export async function eventually(predicate: () => boolean, timeoutMs = 2_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) assert.fail('condition not met in time');
    await sleep(1);
  }
}
