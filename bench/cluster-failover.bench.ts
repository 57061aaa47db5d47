// Failover (issue 18): three node processes in one cluster on loopback NATS (the failover
// test's nodes, test/integration/fixtures/cluster-node.ts). The node with the most agents is
// SIGKILLed while writes go on through the others and its durable runs are in a tool call.
// Measured from the kill: the first successful reply from a new owner of one of its agents,
// the time until all its agents answered, and until all its runs finished (resumed from their
// checkpoints on the survivors); with the default lease (5 s) and a 2 s one beside it, each
// as a ratio to its lease time. Rounds: BENCH_FAILOVER_ROUNDS (default 2 per lease time).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  allJoined,
  call,
  dropCluster,
  type NodeProcess,
  owners,
  startNode,
} from '../test/integration/cluster-harness.ts';
import { type BenchReport, round } from './report.ts';

const ROUNDS = Number(process.env.BENCH_FAILOVER_ROUNDS ?? 2);
const ECHOES = 30;
const WORKERS = 6;

interface Round {
  leaseMs: number;
  firstReplyMs: number;
  allAgentsMs: number;
  allRunsMs: number;
  victimAgents: number;
  runsResumed: number;
  writesAcknowledged: number;
  writesLost: number;
}

/** Bounded polling until `ok`; the ms it took from `since`, or NaN. */
async function until(since: number, ok: () => Promise<boolean>, limitMs = 60_000): Promise<number> {
  while (performance.now() - since < limitMs) {
    if (await ok().catch(() => false)) return performance.now() - since;
    await sleep(5);
  }
  return Number.NaN;
}

async function failoverRound(leaseMs: number): Promise<Round> {
  const name = `benchfo${randomBytes(4).toString('hex')}`;
  const workDir = mkdtempSync(join(tmpdir(), 'agentfleet-failover-bench-'));
  const nodes: NodeProcess[] = [];
  try {
    for (const id of ['ba', 'bb', 'bc']) nodes.push(await startNode(id, name, leaseMs, workDir));
    await allJoined(nodes, 3);
    const entry = nodes[0]!;
    for (let i = 0; i < ECHOES; i++)
      await call(entry.port, 'POST', '/v1/agents', { definition: 'echo', id: `e${i}` });
    for (let i = 0; i < WORKERS; i++)
      await call(entry.port, 'POST', '/v1/agents', { definition: 'worker', id: `w${i}` });
    const placed = await owners(entry.port);
    const count = (id: string) => [...placed.values()].filter((node) => node === id).length;
    const victim = nodes.slice(1).sort((x, y) => count(y.id) - count(x.id))[0]!;
    const survivors = nodes.filter((n) => n !== victim);
    const mine = [...placed].filter(([, node]) => node === victim.id).map(([id]) => id);
    const echoes = mine.filter((id) => id.startsWith('e'));
    const workers = mine.filter((id) => id.startsWith('w'));
    // Writes through the survivors: each a new key of an echo agent's state, kept when acknowledged.
    const acked: Array<[string, string]> = [];
    let writing = true;
    let seq = 0;
    const writer = async () => {
      while (writing) {
        const n = seq++;
        const agent = `e${n % ECHOES}`;
        const reply = await call(survivors[n % 2]!.port, 'PATCH', `/v1/agents/${agent}/state`, {
          values: { [`k${n}`]: n },
        }).catch(() => undefined);
        if (reply?.status === 200) acked.push([agent, `k${n}`]);
      }
    };
    const writers = [writer(), writer()];
    const runs = workers.map((id) =>
      call(entry.port, 'POST', `/v1/agents/${id}/messages`, { input: 'go' }, { timeoutMs: 120_000 }).catch(
        () => undefined,
      ),
    );
    const log = join(workDir, 'executions.log');
    // Each run is in its second tool call (`slow`), its first one (`record`) recorded.
    await until(performance.now(), async () => {
      const lines = readFileSync(log, { encoding: 'utf8', flag: 'a+' }).split('\n');
      return workers.every((id) => lines.some((line) => line.includes(` ${id} `) && line.endsWith(' slow')));
    });
    victim.child.kill('SIGKILL');
    const killed = performance.now();
    const answers = (id: string) => async () => {
      const reply = await call(entry.port, 'POST', `/v1/agents/${id}/messages`, { input: 'ping' });
      return reply.status === 200 && reply.body.output.node !== victim.id;
    };
    const firstReplyMs = await until(killed, answers(echoes[0]!));
    let allAgentsMs = firstReplyMs;
    for (const id of echoes) allAgentsMs = Math.max(allAgentsMs, await until(killed, answers(id)));
    const named = await Promise.all(runs);
    let allRunsMs = 0;
    let resumed = 0;
    for (const reply of named) {
      const runId = reply?.runId;
      if (runId === undefined) continue;
      const ms = await until(killed, async () => {
        const run = await call(entry.port, 'GET', `/v1/runs/${runId}`);
        return run.body.status === 'completed' && run.body.owner !== victim.id;
      });
      if (!Number.isNaN(ms)) resumed++;
      allRunsMs = Math.max(allRunsMs, ms);
    }
    writing = false;
    await Promise.all(writers);
    let lost = 0;
    const states = new Map<string, Record<string, unknown>>();
    for (const [agent, key] of acked) {
      if (!states.has(agent))
        states.set(agent, (await call(entry.port, 'GET', `/v1/agents/${agent}/state`)).body.values);
      if (!(key in (states.get(agent) ?? {}))) lost++;
    }
    return {
      leaseMs,
      firstReplyMs,
      allAgentsMs,
      allRunsMs,
      victimAgents: mine.length,
      runsResumed: resumed,
      writesAcknowledged: acked.length,
      writesLost: lost,
    };
  } finally {
    for (const node of nodes) node.child.kill('SIGTERM');
    await Promise.all(nodes.map((node) => node.exited));
    await dropCluster(name);
    rmSync(workDir, { recursive: true, force: true });
  }
}

export async function runClusterFailoverBench(): Promise<BenchReport> {
  const rounds: Round[] = [];
  for (const leaseMs of [5_000, 2_000])
    for (let i = 0; i < ROUNDS; i++) rounds.push(await failoverRound(leaseMs));
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  const of = (leaseMs: number) => rounds.filter((r) => r.leaseMs === leaseMs);
  const figures: BenchReport['figures'] = {};
  for (const leaseMs of [5_000, 2_000]) {
    const these = of(leaseMs);
    const tag = `${leaseMs / 1000}s`;
    figures[`firstReplyMs_lease${tag}`] = Math.round(median(these.map((r) => r.firstReplyMs)));
    figures[`firstReplyToLease_lease${tag}`] = round(median(these.map((r) => r.firstReplyMs)) / leaseMs);
    figures[`allRunsFinishedMs_lease${tag}`] = Math.round(median(these.map((r) => r.allRunsMs)));
    figures[`writesLost_lease${tag}`] = these.reduce((sum, r) => sum + r.writesLost, 0);
  }
  figures.runsResumed = rounds.reduce((sum, r) => sum + r.runsResumed, 0);
  return {
    name: 'cluster-failover',
    measures: `SIGKILL of the busiest of 3 node processes under writes: ms to the first reply from a new owner, to all its agents, to all its runs finished (${ROUNDS} rounds per lease time; 5 s is the default)`,
    rows: rounds.map((r) => ({
      'lease ms': r.leaseMs,
      'first reply from a new owner, ms': Math.round(r.firstReplyMs),
      'vs lease time': round(r.firstReplyMs / r.leaseMs),
      'all its agents answered, ms': Math.round(r.allAgentsMs),
      'all its runs finished, ms': Math.round(r.allRunsMs),
      'its agents': r.victimAgents,
      'runs resumed': r.runsResumed,
      'writes acknowledged': r.writesAcknowledged,
      'acknowledged writes lost': r.writesLost,
    })),
    figures,
  };
}
