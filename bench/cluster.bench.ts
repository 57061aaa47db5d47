// The cluster of issue 18, in three parts, all in one process on loopback NATS (4222).
// 1. Calls to an echo agent active on node B: from node A through ClusterFleet over the NATS
//    bus with the NATS KV directory and leases, against the same agent called on B itself
//    (runtime.send, LocalFleet, B's ClusterFleet) and over HTTP on B (AgentfleetServer, auth
//    'none', POST /v1/agents/:id/messages, a node:http keep-alive client in this process).
//    Sequential p50/p99 over N calls, and msgs/s with 64 in flight (closed loop). Cross-node
//    is also run on a NATS bus with in-memory stores and fully in process, to split the cost.
// 2. Cold activation (first message to an agent that is only a record) and wake from
//    hibernation (an agent with state, hibernated by a tick), from node A of two, with each
//    set-up; Rivet's published 6.9 ms cold start and 4.4 ms wake are printed beside as reference.
// 3. Memory: 1M addressable agents over 3 in-process nodes, 100k active (cluster-memory.ts,
//    its own process), and bytes per record in a NATS KV bucket on a sample.
import { Agent, request } from 'node:http';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { LocalFleet } from '../src/cluster/index.ts';
import { NatsKvAgentDirectory } from '../src/nats.ts';
import { AgentfleetServer } from '../src/server/index.ts';
import { serverSkipReason } from '../test/integration/servers.ts';
import { measureMemory } from './cluster-memory.ts';
import {
  type BenchCluster,
  closedLoop,
  dropBuckets,
  eachLimited,
  freshBucket,
  hibernatedRecord,
  type Latencies,
  NATS_URL,
  openCluster,
  SETUP_LABEL,
  type Setup,
  sequential,
  summarize,
} from './cluster-nodes.ts';
import { type BenchReport, printReport, round } from './report.ts';

const CALLS = Number(process.env.BENCH_CLUSTER_CALLS ?? 2_000);
const SECONDS = Number(process.env.BENCH_CLUSTER_SECONDS ?? 2);
const IN_FLIGHT = 64;
const ACTIVATIONS = Number(process.env.BENCH_CLUSTER_ACTIVATIONS ?? 500);
const AGENTS = Number(process.env.BENCH_CLUSTER_AGENTS ?? 1_000_000);
const ACTIVE = Number(process.env.BENCH_CLUSTER_ACTIVE ?? Math.round(AGENTS / 10));
const KV_SAMPLE = Number(process.env.BENCH_CLUSTER_KV_SAMPLE ?? 20_000);
const RIVET = { cold: 6.9, wake: 4.4 };
const INPUT = { n: 1 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Rows = BenchReport['rows'];
type Figures = BenchReport['figures'];

/** An agent that placement put on the second node, made through that node. */
async function agentOnSecondNode(cluster: BenchCluster): Promise<string> {
  const b = cluster.nodes[1]!;
  for (let i = 0; i < 64; i++) {
    const id = `echo-${i}`;
    await b.fleet.create({ definition: 'echo', id });
    if (b.fleet.isActiveHere(id)) return id;
  }
  throw new Error('placement never chose the second node');
}

interface PathResult {
  path: string;
  seq: Latencies;
  load: Latencies & { perSecond: number };
}

async function measurePath(path: string, call: () => Promise<unknown>): Promise<PathResult> {
  await sequential(300, call); // warm-up
  await sleep(20);
  const seq = await sequential(CALLS, call);
  await sleep(20);
  await closedLoop(IN_FLIGHT, 0.5, call); // warm-up
  await sleep(20);
  const load = await closedLoop(IN_FLIGHT, SECONDS, call);
  await sleep(20);
  return { path, seq, load };
}

async function crossNode(setup: Setup): Promise<PathResult> {
  const cluster = await openCluster(setup, 2);
  try {
    const id = await agentOnSecondNode(cluster);
    const a = cluster.nodes[0]!;
    return await measurePath(`A → B, ${SETUP_LABEL[setup]}`, () => a.fleet.send(id, INPUT));
  } finally {
    await cluster.close();
  }
}

/** Keep-alive connections for the HTTP path (node:http: a lighter client than fetch in the same process). */
const keepAlive = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });

/** POSTs `body` to `path`; rejects on anything but 200. */
function httpPoster(port: number, path: string, body: string): () => Promise<void> {
  const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  return () =>
    new Promise<void>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path, method: 'POST', agent: keepAlive, headers },
        (res) => {
          res.resume();
          res.on('error', reject);
          res.on('end', () =>
            res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
}

async function callPaths(): Promise<PathResult[]> {
  const results: PathResult[] = [];
  const cluster = await openCluster('nats-kv', 2);
  const a = cluster.nodes[0]!;
  const b = cluster.nodes[1]!;
  const server = new AgentfleetServer({ runtime: b.runtime, auth: { authenticator: 'none' } });
  try {
    const id = await agentOnSecondNode(cluster);
    const { port } = await server.listen(0, '127.0.0.1');
    const http = httpPoster(port, `/v1/agents/${id}/messages`, JSON.stringify({ input: INPUT }));
    const local = new LocalFleet(b.runtime, { state: b.state });
    results.push(await measurePath('B itself: runtime.send', () => b.runtime.send(id, INPUT)));
    results.push(await measurePath('B itself: LocalFleet.send', () => local.send(id, INPUT)));
    results.push(await measurePath('B itself: its ClusterFleet.send', () => b.fleet.send(id, INPUT)));
    results.push(await measurePath('B itself: HTTP POST /v1/agents/:id/messages', http));
    results.push(await measurePath(`A → B, ${SETUP_LABEL['nats-kv']}`, () => a.fleet.send(id, INPUT)));
  } finally {
    keepAlive.destroy();
    await server.close();
    await cluster.close();
  }
  results.push(await crossNode('nats-bus-memory-stores'));
  results.push(await crossNode('in-process'));
  return results;
}

function callRows(results: PathResult[], rows: Rows, figures: Figures): void {
  const base = results[0]!;
  const http = results[3]!;
  for (const r of results)
    rows.push({
      part: 'calls',
      path: r.path,
      n: r.seq.count,
      'p50 ms': round(r.seq.p50ms, 3),
      'p99 ms': round(r.seq.p99ms, 3),
      [`msgs/s, ${IN_FLIGHT} in flight`]: Math.round(r.load.perSecond),
      'p50 / p99 ms in flight': `${round(r.load.p50ms, 3)} / ${round(r.load.p99ms, 3)}`,
      'msgs/s vs runtime.send': round(r.load.perSecond / base.load.perSecond, 3),
      'msgs/s vs HTTP': round(r.load.perSecond / http.load.perSecond, 2),
    });
  const keys = [
    'runtimeSend',
    'localFleet',
    'ownerClusterFleet',
    'http',
    'crossNodeNatsKv',
    'crossNodeNatsBusMemoryStores',
    'crossNodeInProcess',
  ];
  results.forEach((r, i) => {
    const key = keys[i]!;
    figures[`${key}SeqP50Ms`] = round(r.seq.p50ms, 3);
    figures[`${key}SeqP99Ms`] = round(r.seq.p99ms, 3);
    figures[`${key}MsgsPerSecond`] = Math.round(r.load.perSecond);
  });
  const cross = results[4]!;
  figures.crossNodeToRuntimeSendThroughput = round(cross.load.perSecond / base.load.perSecond, 4);
  figures.crossNodeToHttpThroughput = round(cross.load.perSecond / http.load.perSecond, 2);
  figures.crossNodeToRuntimeSendSeqP50 = round(cross.seq.p50ms / base.seq.p50ms, 1);
  figures.crossNodeToHttpSeqP50 = round(cross.seq.p50ms / http.seq.p50ms, 2);
}

interface Activation {
  setup: Setup;
  kind: 'cold' | 'wake';
  all: number[];
  onCaller: number[];
  onOther: number[];
}

/** Cold activations and wakes, each message sent from node A (the agent lands where placement says). */
async function activations(setup: Setup): Promise<Activation[]> {
  // A long lease: the background tick (every lease/3) stays out of the timed loops.
  const cluster = await openCluster(setup, 2, { hibernateAfterMs: 1, leaseMs: 120_000 });
  const [a, b] = cluster.nodes as [BenchCluster['nodes'][0], BenchCluster['nodes'][0]];
  const timed = async (kind: Activation['kind'], ids: string[]): Promise<Activation> => {
    const out: Activation = { setup, kind, all: [], onCaller: [], onOther: [] };
    for (const [i, id] of ids.entries()) {
      const start = performance.now();
      await a.fleet.send(id, i);
      const ms = performance.now() - start;
      out.all.push(ms);
      (a.fleet.isActiveHere(id) ? out.onCaller : out.onOther).push(ms);
    }
    return out;
  };
  try {
    const at = Date.now();
    const records = async (prefix: string, count: number) => {
      const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
      for (const id of ids) await a.directory.create({ v: 1, id, definition: 'echo', createdAt: at });
      return ids;
    };
    await timed('cold', await records('warm', 50));
    const cold = await timed('cold', await records('cold', ACTIVATIONS));
    const stateful = Array.from({ length: ACTIVATIONS + 50 }, (_, i) => `wake-${i}`);
    for (const [i, id] of stateful.entries()) {
      await b.fleet.create({ definition: 'echo', id });
      await b.fleet.state(id, { op: 'patch', values: { count: i, name: `agent ${i}`, seen: [1, 2, 3] } });
    }
    await sleep(5);
    await a.fleet.tick();
    await b.fleet.tick();
    if (a.fleet.activeCount + b.fleet.activeCount !== 0)
      throw new Error(`${a.fleet.activeCount + b.fleet.activeCount} agents did not hibernate`);
    await timed('wake', stateful.slice(0, 50));
    const wake = await timed('wake', stateful.slice(50));
    const woken = (await a.fleet.state('wake-60', { op: 'get' })) as { values: { count: number } };
    if (woken.values.count !== 60) throw new Error('a woken agent lost its state');
    return [cold, wake];
  } finally {
    await cluster.close();
  }
}

function activationRows(results: Activation[], rows: Rows, figures: Figures): void {
  for (const r of results) {
    const setupKey = r.setup.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
    for (const [where, ms] of [
      ['all', r.all],
      ['activated on the caller (A)', r.onCaller],
      ['activated on the other node (B)', r.onOther],
    ] as const) {
      const s = summarize(ms);
      rows.push({
        part: r.kind === 'cold' ? 'cold activation' : 'wake from hibernation',
        path: `${SETUP_LABEL[r.setup]}; ${where}`,
        n: s.count,
        'p50 ms': round(s.p50ms, 3),
        'p99 ms': round(s.p99ms, 3),
        'Rivet published ms': RIVET[r.kind],
      });
      if (where === 'all') {
        figures[`${r.kind}P50Ms_${setupKey}`] = round(s.p50ms, 3);
        figures[`${r.kind}P99Ms_${setupKey}`] = round(s.p99ms, 3);
      }
    }
  }
  figures.rivetColdStartMs = RIVET.cold;
  figures.rivetWakeMs = RIVET.wake;
}

/** Bytes per record in a fresh NATS KV bucket (the stream's `state.bytes` over its messages): a sample. */
async function kvBytesPerRecord(count: number, withState: boolean): Promise<number> {
  const bucket = freshBucket('sample');
  const directory = await NatsKvAgentDirectory.open({ servers: NATS_URL, bucket });
  const nc = await connect({ servers: NATS_URL });
  try {
    const at = Date.now();
    await eachLimited(count, 64, (i) =>
      directory.create(
        hibernatedRecord(
          i,
          at,
          withState ? { values: { count: i, name: `agent ${i}`, seen: [1, 2, 3] }, tags: [] } : undefined,
        ),
      ),
    );
    const info = await (await jetstreamManager(nc)).streams.info(`KV_${bucket}`);
    if (info.state.messages !== count) throw new Error(`${info.state.messages} of ${count} records stored`);
    return info.state.bytes / info.state.messages;
  } finally {
    await directory.close();
    await nc.close();
  }
}

async function memoryRows(rows: Rows, figures: Figures): Promise<void> {
  const m = measureMemory(AGENTS, ACTIVE);
  const hibernated = m.agents - m.active;
  const perRecord = (m.hibernatedHeap - m.baseHeap) / hibernated;
  const activeBeyondRecord = (m.activeHeap - m.recordsHeap) / m.active;
  const perActive = activeBeyondRecord + (m.recordsHeap - m.hibernatedHeap) / m.active;
  const mib = (bytes: number) => round(bytes / 2 ** 20, 1);
  const extrapolated = m.agents < 1_000_000;
  const scale = 1_000_000 / m.agents;
  const where = `${m.agents.toLocaleString('en')} agents on 3 in-process nodes, ${m.active.toLocaleString('en')} active (${m.activePerNode.join(' / ')})`;
  const memory = (path: string, bytes: number, n: number) =>
    rows.push({ part: 'memory', path, n, 'heap bytes': round(bytes, 0) });
  memory(`per active agent, its record included; ${where}`, perActive, m.active);
  memory('  of which beyond its record (runtime agent, fleet entry)', activeBeyondRecord, m.active);
  memory('per hibernated agent in memory (its directory record, no owner)', perRecord, hibernated);
  memory(
    `all ${m.agents.toLocaleString('en')} agents: heap above base (RSS ${mib(m.rss)} MiB; records made in ${round(m.createSeconds, 1)} s, ${m.active.toLocaleString('en')} activated in ${round(m.activateSeconds, 1)} s)`,
    m.activeHeap - m.baseHeap,
    m.agents,
  );
  if (extrapolated)
    memory(
      `EXTRAPOLATED ×${round(scale, 1)}: 1,000,000 agents, ${Math.round(m.active * scale).toLocaleString('en')} active`,
      (m.activeHeap - m.baseHeap) * scale,
      1_000_000,
    );
  if (m.runningAgents !== m.active) throw new Error(`${m.runningAgents} of ${m.active} agents running`);
  figures.memoryAgents = m.agents;
  figures.memoryActive = m.active;
  figures.heapBytesPerActiveAgent = round(perActive, 0);
  figures.heapBytesPerActiveAgentBeyondRecord = round(activeBeyondRecord, 0);
  figures.heapBytesPerHibernatedAgent = round(perRecord, 0);
  figures.heapMiBAboveBase = mib(m.activeHeap - m.baseHeap);
  figures.memoryExtrapolated = extrapolated;
  for (const withState of [false, true]) {
    const bytes = await kvBytesPerRecord(KV_SAMPLE, withState);
    rows.push({
      part: 'store',
      path: `per hibernated agent in the NATS KV directory (stream bytes / records, a sample), ${withState ? 'with a 3-field state' : 'no state'}`,
      n: KV_SAMPLE,
      'stream bytes': round(bytes, 1),
    });
    figures[withState ? 'kvBytesPerRecordWithState' : 'kvBytesPerRecord'] = round(bytes, 1);
  }
}

export async function runClusterBench(): Promise<BenchReport> {
  const skip = await serverSkipReason('NATS', 4222);
  if (skip !== undefined) throw new Error(`the cluster bench needs NATS: ${skip}`);
  const rows: Rows = [];
  const figures: Figures = {};
  try {
    callRows(await callPaths(), rows, figures);
    const activated: Activation[] = [];
    for (const setup of ['nats-kv', 'nats-bus-memory-stores', 'in-process'] as const)
      activated.push(...(await activations(setup)));
    activationRows(activated, rows, figures);
    await memoryRows(rows, figures);
  } finally {
    await dropBuckets();
  }
  return {
    name: 'cluster',
    measures: `ClusterFleet: echo agent on node B called from A vs on B (in process, HTTP), ${CALLS} sequential + ${SECONDS}s at ${IN_FLIGHT} in flight; ${ACTIVATIONS} cold activations and wakes; memory of ${AGENTS.toLocaleString('en')} agents, ${ACTIVE.toLocaleString('en')} active, on 3 nodes`,
    rows,
    figures,
  };
}

if (import.meta.main) printReport(await runClusterBench());
