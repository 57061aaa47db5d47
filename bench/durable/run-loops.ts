// Issue 17's agent-loop benchmark, the side without Agentfleet checkpointing: N agents × S
// steps (a fake in-process model, one trivial tool) on Agentfleet with no checkpointing and on
// LangGraph.js with no checkpointer, MemorySaver, SqliteSaver and PostgresSaver. Each cell
// runs in a fresh process (its own heap and peak RSS). Reported: CPU ms per model step (the
// robust figure on a shared machine), steps/s, peak RSS, and each LangGraph checkpointer's
// CPU per step against LangGraph with none.
// Usage: node bench/durable/run-loops.ts. Env: BENCH_LOOP_AGENTS=1000,10000, BENCH_LOOP_STEPS=4,
// BENCH_LOOP_CONTENDERS=agentfleet,langgraph-none,langgraph-memory,langgraph-sqlite,langgraph-postgres
// (the default; `langgraph-<checkpointer>-sync` or `-exit` sets LangGraph's durability, else its default `async`).
import { fileURLToPath } from 'node:url';
import { runChild } from '../child.ts';
import { type BenchReport, printReport, round } from '../report.ts';
import type { LangGraphCheckpointer } from './langgraph-loop.ts';
import type { LoopFigures } from './workload.ts';

const CONTENDERS = (
  process.env.BENCH_LOOP_CONTENDERS ??
  'agentfleet,agentfleet-memory,agentfleet-sqlite,agentfleet-postgres,agentfleet-nats,langgraph-none,langgraph-memory,langgraph-sqlite,langgraph-postgres'
).split(',');
const COUNTS = (process.env.BENCH_LOOP_AGENTS ?? '1000,10000').split(',').map(Number);
const STEPS = Number(process.env.BENCH_LOOP_STEPS ?? 4);
const LABELS: Record<string, string> = {
  agentfleet: 'agentfleet (no checkpointing)',
  'agentfleet-memory': 'agentfleet MemoryRunStore',
  'agentfleet-sqlite': 'agentfleet SqliteRunStore (temp file, the default)',
  'agentfleet-postgres': 'agentfleet PostgresRunStore (loopback)',
  'agentfleet-nats': 'agentfleet NatsKvRunStore (loopback)',
  'langgraph-none': 'langgraph (no checkpointer)',
  'langgraph-memory': 'langgraph MemorySaver',
  'langgraph-sqlite': 'langgraph SqliteSaver (temp file)',
  'langgraph-postgres': 'langgraph PostgresSaver (loopback)',
};

/**
 * Runs one contender in this process: `agentfleet` or `langgraph-<checkpointer>`. Imported
 * lazily, so an Agentfleet cell does not load LangChain (and its RSS is its own).
 */
async function runCell(contender: string, agents: number, steps: number): Promise<LoopFigures> {
  if (contender === 'agentfleet') {
    const { runAgentfleetLoop } = await import('./agentfleet-loop.ts');
    return runAgentfleetLoop({ agents, steps });
  }
  if (contender.startsWith('agentfleet-')) {
    const { runAgentfleetLoop } = await import('./agentfleet-loop.ts');
    const { openBenchRunStore } = await import('./run-stores.ts');
    const opened = await openBenchRunStore(contender.slice('agentfleet-'.length));
    try {
      return await runAgentfleetLoop({ agents, steps, cognition: { runs: opened.store, runOwner: 'bench' } });
    } finally {
      await opened.close();
    }
  }
  const match = /^langgraph-(none|memory|sqlite|postgres)(?:-(async|sync|exit))?$/.exec(contender);
  if (match === null) throw new Error(`unknown contender ${contender}`);
  const [, checkpointer, durability] = match;
  const { runLangGraphLoop } = await import('./langgraph-loop.ts');
  return runLangGraphLoop({
    agents,
    steps,
    checkpointer: checkpointer as LangGraphCheckpointer,
    ...(durability === undefined ? {} : { durability: durability as 'async' | 'sync' | 'exit' }),
  });
}

export async function runDurableLoopsBench(): Promise<BenchReport> {
  const rows: BenchReport['rows'] = [];
  const figures: BenchReport['figures'] = { steps: STEPS };
  const script = fileURLToPath(import.meta.url);
  for (const agents of COUNTS) {
    const results = new Map<string, LoopFigures>();
    for (const contender of CONTENDERS) {
      console.error(`durable-loops: ${contender}, ${agents} agents × ${STEPS} steps`);
      let r: LoopFigures;
      try {
        r = runChild<LoopFigures>(
          script,
          ['--cell', contender, String(agents), String(STEPS)],
          ['--max-old-space-size=8192'],
        );
      } catch (error) {
        rows.push({ agents, contender: LABELS[contender] ?? contender, error: String(error).slice(0, 300) });
        continue;
      }
      results.set(contender, r);
      rows.push({
        agents,
        contender: LABELS[contender] ?? contender,
        runs: r.runs,
        steps: r.steps,
        'wall ms': Math.round(r.wallMs),
        'steps/s': Math.round(r.stepsPerSec),
        'CPU ms/step': round(r.cpuMsPerStep, 4),
        'peak RSS MiB': Math.round(r.rssMiB),
      });
      figures[`n${agents}_${contender}_cpuMsPerStep`] = round(r.cpuMsPerStep, 4);
      figures[`n${agents}_${contender}_stepsPerSec`] = Math.round(r.stepsPerSec);
      figures[`n${agents}_${contender}_peakRssMiB`] = Math.round(r.rssMiB);
    }
    const none = results.get('langgraph-none');
    const ours = results.get('agentfleet');
    for (const [contender, r] of results) {
      if (ours === undefined || !contender.startsWith('agentfleet-')) continue;
      // What durable runs add per step in each store: CPU with it ÷ and − without (same run).
      figures[`n${agents}_${contender}_cpuVsNone`] = round(r.cpuMsPerStep / ours.cpuMsPerStep);
      figures[`n${agents}_${contender}_addedCpuMsPerStep`] = round(r.cpuMsPerStep - ours.cpuMsPerStep, 4);
    }
    for (const [contender, r] of results) {
      if (none === undefined || !contender.startsWith('langgraph-') || r === none) continue;
      // What the checkpointer adds per step, as LangGraph's issue-17 ratio: CPU with it ÷ without.
      figures[`n${agents}_${contender}_cpuVsNone`] = round(r.cpuMsPerStep / none.cpuMsPerStep);
      figures[`n${agents}_${contender}_addedCpuMsPerStep`] = round(r.cpuMsPerStep - none.cpuMsPerStep, 4);
    }
    if (none !== undefined && ours !== undefined)
      figures[`n${agents}_langgraphNoneVsAgentfleet_cpu`] = round(none.cpuMsPerStep / ours.cpuMsPerStep, 1);
  }
  return {
    name: 'durable-loops',
    measures: `N agents × ${STEPS} steps (fake in-process model, one tool): Agentfleet without and with each run store, LangGraph.js without and with its checkpointers (process CPU only: a database server's own CPU is not counted)`,
    rows,
    figures,
  };
}

if (import.meta.main) {
  const [flag, contender, agents, steps] = process.argv.slice(2);
  if (flag === '--cell' && contender !== undefined) {
    const r = await runCell(contender, Number(agents), Number(steps));
    console.log(`RESULT:${JSON.stringify(r)}`);
    process.exit(0);
  } else printReport(await runDurableLoopsBench());
}
