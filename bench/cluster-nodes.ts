// Cluster nodes for the cluster bench: each a runtime with the echo agent, a state store and a
// ClusterFleet, joined through one of three set-ups (NATS bus with the NATS KV directory and
// leases, as a cluster user gets; NATS bus with in-memory stores; everything in process), and
// the latency helpers the bench shares.
import { randomBytes } from 'node:crypto';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { type Bus, createBus, MemoryHub, MemoryTransport } from '../src/bus/index.ts';
import { natsTransport } from '../src/bus/transports/nats.ts';
import {
  type AgentDirectory,
  type AgentRecord,
  ClusterFleet,
  type LeaseStore,
  MemoryAgentDirectory,
  MemoryLeaseStore,
  NodeAgentHost,
} from '../src/cluster/index.ts';
import { createRuntime, defineAgent, type Runtime } from '../src/core/index.ts';
import { NatsKvAgentDirectory, NatsKvLeaseStore } from '../src/nats.ts';
import { type AgentStateStore, createStateStore } from '../src/state/index.ts';

export const NATS_URL = process.env.NATS_URL ?? '127.0.0.1:4222';

/** The trivial agent every path calls: its reply is its input. */
export const echo = defineAgent({ name: 'echo', decide: (input: unknown) => input });

/** How the nodes reach each other and the cluster's stores. */
export type Setup = 'nats-kv' | 'nats-bus-memory-stores' | 'in-process';

export const SETUP_LABEL: Record<Setup, string> = {
  'nats-kv': 'NATS bus + NATS KV directory and leases',
  'nats-bus-memory-stores': 'NATS bus + in-memory directory and leases',
  'in-process': 'in-process bus + in-memory directory and leases',
};

export interface BenchNode {
  readonly runtime: Runtime;
  readonly state: AgentStateStore;
  readonly fleet: ClusterFleet;
  readonly bus: Bus;
  /** The directory as this node reaches it (its own connection with NATS KV). */
  readonly directory: AgentDirectory;
}

export interface BenchCluster {
  readonly nodes: BenchNode[];
  close(): Promise<void>;
}

/** Every bucket the bench made, deleted by `dropBuckets`. */
const buckets: string[] = [];

/** A unique bucket name, remembered for `dropBuckets`. */
export function freshBucket(what: string): string {
  const bucket = `bench-cluster-${what}-${randomBytes(4).toString('hex')}`;
  buckets.push(bucket);
  return bucket;
}

/** Deletes the buckets this process made. */
export async function dropBuckets(): Promise<void> {
  if (buckets.length === 0) return;
  const nc = await connect({ servers: NATS_URL });
  try {
    const kvm = new Kvm(nc);
    for (const bucket of buckets.splice(0))
      await kvm
        .open(bucket)
        .then((kv) => kv.destroy())
        .catch(() => undefined);
  } finally {
    await nc.close();
  }
}

/** Opens `count` nodes of one set-up; every node has seen the others when it resolves. */
export async function openCluster(
  setup: Setup,
  count: number,
  options: { hibernateAfterMs?: number; leaseMs?: number } = {},
): Promise<BenchCluster> {
  const leaseMs = options.leaseMs ?? 5_000;
  const hub = new MemoryHub();
  const shared = { directory: new MemoryAgentDirectory(), leases: new MemoryLeaseStore({ leaseMs }) };
  const clusterName = `bench${randomBytes(4).toString('hex')}`; // apart from any other cluster on this NATS
  const agentsBucket = setup === 'nats-kv' ? freshBucket('agents') : '';
  const leasesBucket = setup === 'nats-kv' ? freshBucket('leases') : '';
  const nodes: BenchNode[] = [];
  const owned: Array<{ close(): Promise<unknown> }> = [];
  for (let i = 0; i < count; i++) {
    const bus =
      setup === 'in-process'
        ? createBus({ transport: new MemoryTransport(hub) })
        : createBus({ transport: await natsTransport({ servers: NATS_URL }) });
    let directory: AgentDirectory = shared.directory;
    let leases: LeaseStore = shared.leases;
    if (setup === 'nats-kv') {
      // Each node on its own connections, as separate processes would be.
      directory = await NatsKvAgentDirectory.open({ servers: NATS_URL, bucket: agentsBucket });
      leases = await NatsKvLeaseStore.open({ servers: NATS_URL, bucket: leasesBucket, leaseMs });
      owned.push(directory, leases);
    }
    const runtime = createRuntime();
    runtime.register(echo);
    const state = await createStateStore();
    const fleet = await ClusterFleet.open({
      nodeId: `n${i}`,
      name: clusterName,
      bus,
      directory,
      leases,
      host: new NodeAgentHost({ runtime, state, clustered: true }),
      report: (error, what) => console.error(`n${i}: ${what} failed: ${String(error)}`),
      ...(options.hibernateAfterMs === undefined ? {} : { hibernateAfterMs: options.hibernateAfterMs }),
    });
    nodes.push({ runtime, state, fleet, bus, directory });
  }
  for (const node of nodes) await node.fleet.tick();
  return {
    nodes,
    close: async () => {
      for (const node of nodes) await node.fleet.close();
      for (const node of nodes) {
        await node.runtime.close();
        await node.state.close();
        await node.bus.close();
      }
      for (const item of owned) await item.close();
      await shared.directory.close();
      await shared.leases.close();
    },
  };
}

/** The `q` quantile of sorted latencies. */
export const quantile = (sorted: readonly number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

export interface Latencies {
  count: number;
  p50ms: number;
  p99ms: number;
}

export function summarize(ms: number[]): Latencies {
  const sorted = [...ms].sort((a, b) => a - b);
  return { count: sorted.length, p50ms: quantile(sorted, 0.5), p99ms: quantile(sorted, 0.99) };
}

/**
 * Lets timers and I/O run. In-process calls resolve on microtasks alone: a loop of them never
 * yields, and the nodes' heartbeat renewals (a timer, then a NATS reply) would starve until
 * their leases ran out. The loops below yield outside the timed calls.
 */
export const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** `count` calls one after the other, each timed. */
export async function sequential(count: number, call: (i: number) => Promise<unknown>): Promise<Latencies> {
  const ms: number[] = [];
  for (let i = 0; i < count; i++) {
    if (i % 100 === 99) await yieldToLoop();
    const start = performance.now();
    await call(i);
    ms.push(performance.now() - start);
  }
  return summarize(ms);
}

/** Closed loop: `inFlight` workers, each sending its next call when the last answered, for `seconds`. */
export async function closedLoop(
  inFlight: number,
  seconds: number,
  call: () => Promise<unknown>,
): Promise<Latencies & { perSecond: number }> {
  const ms: number[] = [];
  const end = performance.now() + seconds * 1000;
  const worker = async () => {
    for (let n = 1; performance.now() < end; n++) {
      if (n % 256 === 0) await yieldToLoop();
      const start = performance.now();
      await call();
      ms.push(performance.now() - start);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  const elapsed = (performance.now() - started) / 1000;
  return { ...summarize(ms), perSecond: ms.length / elapsed };
}

/** A hibernated agent's record as the memory and KV figures store it: no owner, no state unless given. */
export function hibernatedRecord(
  i: number,
  at: number,
  state?: { values: Record<string, unknown>; tags: string[] },
): AgentRecord {
  return {
    v: 1,
    id: `h${i.toString(36)}`,
    definition: 'echo',
    createdAt: at,
    hibernatedAt: at,
    ...(state === undefined ? {} : { state }),
  };
}

/** Runs `fn` over `0..count-1` with at most `limit` at once. */
export async function eachLimited(
  count: number,
  limit: number,
  fn: (i: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}
