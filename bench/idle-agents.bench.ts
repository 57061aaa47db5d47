// Memory per idle running agent at 100k and 1M agents, each count in its own process,
// against a baseline of the least an agent registry can hold (an id and a state in a Map).
import { fileURLToPath } from 'node:url';
import { createRuntime, defineAgent } from '../src/core/index.ts';
import { runChild } from './child.ts';
import { type BenchReport, printReport, round } from './report.ts';

interface Sample {
  agents: number;
  rssBytes: number;
  heapBytes: number;
  baseRssBytes: number;
  baseHeapBytes: number;
  running: number;
  seconds: number;
}

function settle(): { rss: number; heap: number } {
  for (let i = 0; i < 4; i++) globalThis.gc!();
  const usage = process.memoryUsage();
  return { rss: usage.rss, heap: usage.heapUsed };
}

async function child(kind: string, count: number): Promise<Sample> {
  const base = settle();
  const start = performance.now();
  let running = 0;
  let keep: unknown;
  if (kind === 'agentfleet') {
    const runtime = createRuntime();
    const idle = defineAgent({ name: 'idle', decide: (x: unknown) => x });
    for (let i = 0; i < count; i++) runtime.create(idle).start();
    await Promise.resolve();
    running = runtime.stats().agents.running;
    keep = runtime;
  } else {
    const registry = new Map<string, { id: string; state: string }>();
    for (let i = 0; i < count; i++) {
      const id = `idle-${(i + 1).toString(36)}`;
      registry.set(id, { id, state: 'running' });
    }
    running = registry.size;
    keep = registry;
  }
  const seconds = (performance.now() - start) / 1000;
  const after = settle();
  if (keep === undefined) throw new Error('unreachable');
  return {
    agents: count,
    rssBytes: after.rss,
    heapBytes: after.heap,
    baseRssBytes: base.rss,
    baseHeapBytes: base.heap,
    running,
    seconds,
  };
}

export async function runIdleAgentsBench(): Promise<BenchReport> {
  const script = fileURLToPath(import.meta.url);
  const rows: BenchReport['rows'] = [];
  const figures: BenchReport['figures'] = {};
  for (const count of [100_000, 1_000_000]) {
    const ours = runChild<Sample>(script, ['--child', 'agentfleet', String(count)], ['--expose-gc']);
    const base = runChild<Sample>(script, ['--child', 'baseline', String(count)], ['--expose-gc']);
    if (ours.running !== count) throw new Error(`only ${ours.running} of ${count} agents were running`);
    const perAgent = (s: Sample) => (s.heapBytes - s.baseHeapBytes) / count;
    const perAgentRss = (s: Sample) => (s.rssBytes - s.baseRssBytes) / count;
    rows.push({
      agents: count.toLocaleString(),
      'total RSS MiB': round(ours.rssBytes / 2 ** 20, 1),
      'heap bytes/agent': round(perAgent(ours), 0),
      'RSS bytes/agent': round(perAgentRss(ours), 0),
      'baseline heap bytes/entry': round(perAgent(base), 0),
      'ratio to baseline': round(perAgent(ours) / perAgent(base)),
      'create+start s': round(ours.seconds, 2),
    });
    const key = count === 1_000_000 ? '1M' : '100k';
    figures[`totalRssMiB_${key}`] = round(ours.rssBytes / 2 ** 20, 1);
    figures[`heapBytesPerAgent_${key}`] = round(perAgent(ours), 0);
    figures[`ratioToBaseline_${key}`] = round(perAgent(ours) / perAgent(base));
  }
  figures.meets1GiBTarget = (figures.totalRssMiB_1M as number) <= 1024;
  return {
    name: 'idle-agents',
    measures: 'memory per idle running agent (no messages yet), fresh process per count, after GC',
    rows,
    figures,
  };
}

if (import.meta.main) {
  const at = process.argv.indexOf('--child');
  if (at !== -1) {
    const sample = await child(process.argv[at + 1]!, Number(process.argv[at + 2]));
    console.log(`RESULT:${JSON.stringify(sample)}`);
  } else {
    printReport(await runIdleAgentsBench());
  }
}
