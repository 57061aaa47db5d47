// Rollback time of a canary rollout (issue 19): a RolloutManager with its default round
// (tickMs 1,000), the real clock, the default steps and gates and a short hold (3 s). A traffic
// loop sends 2,000 requests/s through a router-like split (a sticky hash of the conversation:
// `hash % 100 < percent` goes to B), reports each result with `observe`, and at a random moment
// T in the first step B starts failing every request. Measured: from T until the split is
// cleared (every request on A), per round, and how many requests B failed meanwhile. Two
// settings: one node on the memory store, and two nodes on NATS JetStream KV (leases, the
// decider on one, traffic on both) until both nodes' splits are cleared. Also the hot path's
// cost: ns per `observe` on an agent in a rollout and on one without (best of 5 × 2M). A third
// setting runs it on a real node (`createNode`): its versions' router, its rollouts. Rounds:
// BENCH_ROLLOUT_ROUNDS (default 7 per setting).
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import type { LeaseStore } from '../src/cluster/index.ts';
import { withTenant } from '../src/context/index.ts';
import { NatsKvLeaseStore, NatsKvRolloutStore } from '../src/nats.ts';
import { createNode } from '../src/node/index.ts';
import {
  MemoryRolloutStore,
  RolloutManager,
  type RolloutSplit,
  type RolloutStore,
  type RolloutTarget,
} from '../src/rollout/index.ts';
import { NATS_URL, serverSkipReason } from '../test/integration/servers.ts';
import { startVendorServer } from '../test/vendors/server.ts';
import { median } from './http-load.ts';
import { type BenchReport, round } from './report.ts';

const ROUNDS = Number(process.env.BENCH_ROLLOUT_ROUNDS ?? 7);
const RATE = 2_000; // requests/s over all nodes
const SLICE_MS = 5;
const HOLD_MS = 3_000;

/** One node's router: the split it was given, a sticky hash per conversation, and when it was cleared. */
class Router implements RolloutTarget {
  split: RolloutSplit | undefined;
  clearedAt: number | undefined;
  hasVersion = (_t: string, _d: string, v: string) => v === 'A' || v === 'B';
  currentVersion = () => 'A';
  setSplit(_t: string, _d: string, split: RolloutSplit | undefined): void {
    this.split = split;
    if (split === undefined) this.clearedAt ??= performance.now();
  }
  promote(): void {}
  /** The version serving `conversation`. */
  route(conversation: number): string {
    const s = this.split;
    return s !== undefined && fnv(conversation) % 100 < s.percent ? s.to : 'A';
  }
}

function fnv(n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < 4; i++) {
    h ^= (n >>> (i * 8)) & 0xff;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

interface Node {
  manager: RolloutManager;
  router: Router;
}

interface Round {
  rollbackMs: number;
  /** Requests B served (and failed) after T: what the users saw of the bad version. */
  failedOnB: number;
  reason: string;
  requests: number;
}

async function rollbackRound(nodes: Node[], definition: string): Promise<Round> {
  const [first] = nodes as [Node];
  await first.manager.start('acme', definition, { to: 'B', holdMs: HOLD_MS });
  while (nodes.some((n) => n.router.split === undefined)) await sleep(1); // the others saw it
  const started = performance.now();
  const failAt = started + 500 + Math.random() * (HOLD_MS - 1_000);
  let requests = 0;
  let failedOnB = 0;
  let conversation = 0;
  const perSlice = (RATE * SLICE_MS) / 1000 / nodes.length;
  while (nodes.some((n) => n.router.clearedAt === undefined) && performance.now() - started < 30_000) {
    const now = performance.now();
    for (const node of nodes)
      for (let i = 0; i < perSlice; i++) {
        const version = node.router.route(conversation++ % 10_000);
        const failing = version === 'B' && now >= failAt;
        if (failing) failedOnB++;
        node.manager.observe('acme', definition, version, 20 + (conversation % 7), !failing);
        requests++;
      }
    await sleep(SLICE_MS);
  }
  const cleared = Math.max(...nodes.map((n) => n.router.clearedAt ?? Number.NaN));
  const status = await first.manager.status('acme', definition);
  for (const node of nodes) {
    node.router.clearedAt = undefined;
    node.router.split = undefined;
  }
  return { rollbackMs: cleared - failAt, failedOnB, reason: status.reason ?? status.status, requests };
}

async function setting(
  name: string,
  nodes: Node[],
): Promise<{ rows: BenchReport['rows']; figures: BenchReport['figures'] }> {
  const rounds: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push(await rollbackRound(nodes, `agent${i}`));
  return summarize(name, rounds);
}

function summarize(
  name: string,
  rounds: Round[],
): { rows: BenchReport['rows']; figures: BenchReport['figures'] } {
  const ms = rounds.map((r) => r.rollbackMs);
  const done = rounds.filter((r) => r.reason.startsWith('to.errorRate')).length;
  const rows = rounds.map((r, i) => ({
    setting: name,
    round: i + 1,
    'rollback ms': round(r.rollbackMs, 0),
    'failed on B': r.failedOnB,
    requests: r.requests,
    reason: r.reason.slice(0, 60),
  }));
  return {
    rows,
    figures: {
      [`${name}_median_ms`]: round(median(ms), 0),
      [`${name}_max_ms`]: round(Math.max(...ms), 0),
      [`${name}_rolled_back`]: done,
      [`${name}_rounds`]: rounds.length,
      [`${name}_failed_on_b_median`]: median(rounds.map((r) => r.failedOnB)),
    },
  };
}

async function memorySetting() {
  const router = new Router();
  const manager = await RolloutManager.open({ store: new MemoryRolloutStore(), node: 'n1', target: router });
  try {
    return await setting('memory', [{ manager, router }]);
  } finally {
    await manager.close();
  }
}

async function natsSetting() {
  const prefix = `bench-rollout-${randomBytes(4).toString('hex')}`;
  const stores: RolloutStore[] = [];
  const leases: LeaseStore[] = [];
  const nodes: Node[] = [];
  try {
    for (const id of ['n1', 'n2']) {
      const store = await NatsKvRolloutStore.open({ servers: NATS_URL, bucket: `${prefix}-rollouts` });
      const lease = await NatsKvLeaseStore.open({ servers: NATS_URL, bucket: `${prefix}-leases` });
      stores.push(store);
      leases.push(lease);
      const router = new Router();
      nodes.push({
        manager: await RolloutManager.open({ store, node: id, target: router, leases: lease }),
        router,
      });
    }
    return await setting('nats_2_nodes', nodes);
  } finally {
    for (const n of nodes) await n.manager.close();
    for (const s of [...stores, ...leases]) await s.close();
    const nc = await connect({ servers: NATS_URL });
    const kvm = new Kvm(nc);
    for (const bucket of [`${prefix}-rollouts`, `${prefix}-leases`])
      await (await kvm.open(bucket)).destroy().catch(() => undefined);
    await nc.close();
  }
}

/**
 * The same on a real node (`createNode`, in-memory defaults): a tenant's definition at A (rules)
 * rolled out to B (an LLM spec against the fake vendor), 1,000 agents messaged through
 * `runtime.send`; from T on, messages ask the vendor for a 401, so B fails every one it takes.
 * Measured: from T until the node's router has no split left (every message on A).
 */
async function nodeSetting() {
  const vendor = await startVendorServer({ record: false });
  const node = await createNode(
    { logLevel: 'silent', runs: 'memory' },
    { env: { OPENAI_API_KEY: 'bench', OPENAI_BASE_URL: `${vendor.url}/v1` } },
  );
  const ids = Array.from({ length: 1_000 }, (_, i) => `a${i}`);
  const rounds: Round[] = [];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      const name = `shaky${r}`;
      const spec = (cognition: object) => JSON.stringify({ name, cognition });
      await node.definitions.put(
        'acme',
        name,
        spec({ type: 'rules', rules: [], otherwise: { decision: 'A', reason: 'a' } }),
      );
      const b = await node.definitions.put('acme', name, spec({ type: 'llm', model: 'openai/m' }), {
        current: false,
      });
      await withTenant('acme', async () => {
        for (const id of ids) await node.runtime.spawn(name, { id: `${name}-${id}` });
      });
      await node.rollouts.start('acme', name, { to: b.version.version, holdMs: HOLD_MS });
      const onB = () =>
        node.definitions.versions('acme', name)?.find((v) => v.id === b.version.id)?.percent ?? 0;
      const started = performance.now();
      const failAt = started + 500 + Math.random() * (HOLD_MS - 1_000);
      let requests = 0;
      let failed = 0;
      let clearedAt: number | undefined;
      const perSlice = (RATE * SLICE_MS) / 1000;
      let next = 0;
      while (clearedAt === undefined && performance.now() - started < 30_000) {
        const text = performance.now() >= failAt ? 'scenario:auth' : 'hello';
        const sends: Promise<unknown>[] = [];
        for (let i = 0; i < perSlice; i++) {
          const id = `${name}-${ids[next++ % ids.length]}`;
          sends.push(withTenant('acme', () => node.runtime.send(id, text)).catch(() => void failed++));
        }
        requests += sends.length;
        await Promise.all([...sends, sleep(SLICE_MS)]);
        if (onB() === 0) clearedAt = performance.now();
      }
      const status = await node.rollouts.status('acme', name);
      rounds.push({
        rollbackMs: (clearedAt ?? Number.NaN) - failAt,
        failedOnB: failed,
        reason: status.reason ?? status.status,
        requests,
      });
    }
  } finally {
    await node.close();
    await vendor.close();
  }
  return summarize('node', rounds);
}

/** ns per `observe` (the hot path): on an agent in a rollout (5% B, each B result sampled), and on one without. */
async function observeCost(): Promise<{ active: number; idle: number }> {
  const router = new Router();
  const manager = await RolloutManager.open({ store: new MemoryRolloutStore(), node: 'n1', target: router });
  try {
    await manager.start('acme', 'hot', { to: 'B', holdMs: 3_600_000 });
    const calls = 2_000_000;
    const time = (definition: string) => {
      const start = performance.now();
      for (let i = 0; i < calls; i++)
        manager.observe('acme', definition, i % 20 === 0 ? 'B' : 'A', 20 + (i % 50), i % 97 !== 0);
      return ((performance.now() - start) * 1e6) / calls;
    };
    let active = Number.POSITIVE_INFINITY;
    let idle = Number.POSITIVE_INFINITY;
    for (let r = 0; r < 5; r++) {
      active = Math.min(active, time('hot'));
      idle = Math.min(idle, time('cold'));
    }
    return { active, idle };
  } finally {
    await manager.close();
  }
}

export async function runRolloutRollbackBench(): Promise<BenchReport> {
  const cost = await observeCost();
  const memory = await memorySetting();
  const skip = await serverSkipReason('NATS', 4222);
  const nats = skip === undefined ? await natsSetting() : { rows: [], figures: { nats_skipped: skip } };
  const real = await nodeSetting();
  return {
    name: 'rollout-rollback',
    measures: `time from B starting to fail (random moment in the first 5% step) until all traffic is on A, default tickMs 1,000, ${RATE} req/s, ${ROUNDS} rounds per setting`,
    rows: [...memory.rows, ...nats.rows, ...real.rows],
    figures: {
      observe_ns_active: round(cost.active, 1),
      observe_ns_no_rollout: round(cost.idle, 1),
      ...memory.figures,
      ...nats.figures,
      ...real.figures,
    },
  };
}
