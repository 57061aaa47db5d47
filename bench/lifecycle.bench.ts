// Agents created + started + stopped (+ removed) per second, against a baseline doing the
// same bookkeeping with plain objects in a Map, in the same run.
import { createRuntime, defineAgent } from '../src/core/index.ts';
import { type BenchReport, bestOf, printReport, round } from './report.ts';

const N = 200_000;
const def = defineAgent({ name: 'life', decide: (x: unknown) => x });

async function sequential(): Promise<void> {
  const runtime = createRuntime();
  for (let i = 0; i < N; i++) {
    const agent = runtime.create(def);
    await agent.start();
    await agent.stop();
    await runtime.remove(agent.agentId);
  }
  await runtime.close();
}

async function batched(): Promise<void> {
  const runtime = createRuntime();
  const batch = 1_000;
  for (let i = 0; i < N; i += batch) {
    const agents = [];
    for (let j = 0; j < batch; j++) agents.push(runtime.create(def));
    await Promise.all(agents.map((a) => a.start()));
    await Promise.all(agents.map((a) => runtime.remove(a.agentId)));
  }
  await runtime.close();
}

async function baseline(): Promise<void> {
  const registry = new Map<string, { id: string; state: string; controller?: AbortController }>();
  for (let i = 0; i < N; i++) {
    const id = `life-${i.toString(36)}`;
    const record: { id: string; state: string } = { id, state: 'pending' };
    registry.set(id, record);
    record.state = 'running';
    await Promise.resolve();
    record.state = 'stopping';
    record.state = 'stopped';
    await Promise.resolve();
    registry.delete(id);
  }
}

export async function runLifecycleBench(): Promise<BenchReport> {
  await sequential();
  const seq = await bestOf(5, sequential);
  const bat = await bestOf(5, batched);
  const base = await bestOf(5, baseline);
  const rate = (ms: number) => Math.round(N / (ms / 1000));
  const rows = [
    { mode: 'agentfleet, awaited one by one', 'agents/s': rate(seq), 'ratio to baseline': round(seq / base) },
    { mode: 'agentfleet, batches of 1,000', 'agents/s': rate(bat), 'ratio to baseline': round(bat / base) },
    { mode: 'baseline: Map + plain object', 'agents/s': rate(base), 'ratio to baseline': 1 },
  ];
  return {
    name: 'lifecycle',
    measures: `create + start + stop + remove of ${N.toLocaleString()} agents, best of 5`,
    rows,
    figures: {
      sequentialPerSecond: rate(seq),
      batchedPerSecond: rate(bat),
      baselinePerSecond: rate(base),
      meets200kTarget: rate(seq) >= 200_000,
    },
  };
}

if (import.meta.main) printReport(await runLifecycleBench());
