// The cluster bench's memory figure, in a process of its own (run with --expose-gc): three
// ClusterFleets on one in-process bus and one shared MemoryAgentDirectory; `agents - active`
// hibernated records (no owner), then `active` more records activated through the fleets
// (spread over the nodes by placement). Heap after GC at each step.
import { fileURLToPath } from 'node:url';
import { runChild } from './child.ts';
import { eachLimited, hibernatedRecord, openCluster } from './cluster-nodes.ts';

export interface MemorySample {
  agents: number;
  active: number;
  baseHeap: number;
  /** After the hibernated records. */
  hibernatedHeap: number;
  /** After the active agents' records too, before activating them. */
  recordsHeap: number;
  /** After activating them. */
  activeHeap: number;
  rss: number;
  activePerNode: number[];
  runningAgents: number;
  createSeconds: number;
  activateSeconds: number;
}

function heap(): number {
  for (let i = 0; i < 4; i++) globalThis.gc!();
  return process.memoryUsage().heapUsed;
}

async function measure(agents: number, active: number): Promise<MemorySample> {
  const cluster = await openCluster('in-process', 3, { hibernateAfterMs: 0, leaseMs: 60_000 });
  const { nodes } = cluster;
  const directory = nodes[0]!.directory;
  const hibernated = agents - active;
  const now = Date.now();
  const baseHeap = heap();
  const created = performance.now();
  for (let i = 0; i < hibernated; i++) await directory.create(hibernatedRecord(i, now));
  const createSeconds = (performance.now() - created) / 1000;
  const hibernatedHeap = heap();
  for (let i = hibernated; i < agents; i++) await directory.create(hibernatedRecord(i, now));
  const recordsHeap = heap();
  const activated = performance.now();
  // Each message from one of the three nodes; placement decides where the agent becomes active.
  await eachLimited(active, 256, (i) =>
    nodes[i % 3]!.fleet.send(hibernatedRecord(hibernated + i, now).id, i),
  );
  const activateSeconds = (performance.now() - activated) / 1000;
  const activeHeap = heap();
  const sample: MemorySample = {
    agents,
    active,
    baseHeap,
    hibernatedHeap,
    recordsHeap,
    activeHeap,
    rss: process.memoryUsage().rss,
    activePerNode: nodes.map((n) => n.fleet.activeCount),
    runningAgents: nodes.reduce((sum, n) => sum + n.runtime.stats().agents.running, 0),
    createSeconds,
    activateSeconds,
  };
  await cluster.close();
  return sample;
}

/** Runs the measurement in a fresh process with its own heap. */
export function measureMemory(agents: number, active: number): MemorySample {
  return runChild<MemorySample>(
    fileURLToPath(import.meta.url),
    ['--child', String(agents), String(active)],
    ['--expose-gc', '--max-old-space-size=8192'],
  );
}

if (import.meta.main) {
  const at = process.argv.indexOf('--child');
  const agents = Number(process.argv[at + 1] ?? 1_000_000);
  const active = Number(process.argv[at + 2] ?? 100_000);
  console.log(`RESULT:${JSON.stringify(await measure(agents, active))}`);
}
