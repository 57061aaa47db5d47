// Helpers for this repository's tests. Those the contract suites need live in src/testing
// (shipped as `agentfleet/testing`) and are re-exported here.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { eventually } from '../src/testing/timing.ts';

export { rejectsWithCode, throwsWithCode } from '../src/testing/assertions.ts';
export { seededRandom } from '../src/testing/seeded-random.ts';
export { eventually, sleep } from '../src/testing/timing.ts';

/** Counts of timers and other live resources, to check nothing is left behind. */
export function liveResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/** Waits until no kind of live resource (timers, sockets, …) outnumbers `baseline`: a leak never gets there. */
export async function noMoreResourcesThan(baseline: Record<string, number>): Promise<void> {
  let now: Record<string, number> = {};
  await eventually(() => {
    now = liveResources();
    return Object.entries(now).every(([kind, n]) => n <= (baseline[kind] ?? 0));
  }).catch(() => assert.deepEqual(now, baseline, 'resources left behind'));
}

/** A TCP port on 127.0.0.1 that was free a moment ago, for a server a test starts itself. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}
