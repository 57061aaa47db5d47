// N concurrent LLM agents (1 … 10,000), each doing 3 tool-call steps and a final answer against
// the fake OpenAI-format vendor running in another process (0 ms and 50 ms latency). Each
// contender runs in a fresh process: the floors (a bare fetch loop doing the same calls, and
// the same loop over undici's Pool), Agentfleet with its default provider configuration (no
// options), Agentfleet with the old default of 64 connections (measured in the same run), the
// Vercel AI SDK (generateText with tools and a step limit) and the OpenAI Agents SDK.
// Reported: steps/s, p50/p99 per run, CPU per step and peak RSS of that process.
// Env: BENCH_LLM_AGENTS=1,100 and BENCH_LLM_LATENCIES=0,50 (a grid), or BENCH_LLM_MATRIX=10000@50,1000@0
// (just those cells); BENCH_LLM_CONTENDERS=fetch,undici,agentfleet,agentfleet-64 (a subset).
import { type ChildProcess, spawn } from 'node:child_process';
import { runChild } from './child.ts';
import { type BenchReport, printReport, round } from './report.ts';

interface Result {
  contender: string;
  n: number;
  runs: number;
  failures: number;
  firstError?: string;
  stepsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  cpuMsPerStep: number;
  peakRssMB: number;
}

const ALL_CONTENDERS = [
  'fetch',
  'undici',
  'agentfleet',
  'agentfleet-defaults',
  'agentfleet-64',
  'ai-sdk',
  'openai-agents',
];
const CONTENDERS = process.env.BENCH_LLM_CONTENDERS?.split(',') ?? ALL_CONTENDERS;
const LABELS: Record<string, string> = {
  agentfleet: 'agentfleet (default provider, pool sized to N)',
  'agentfleet-64': 'agentfleet (old default: 64 connections)',
  'agentfleet-defaults': 'agentfleet (default provider and runtime pool)',
};
const COUNTS = (process.env.BENCH_LLM_AGENTS ?? '1,100,1000,10000').split(',').map(Number);
const LATENCIES = (process.env.BENCH_LLM_LATENCIES ?? '0,50').split(',').map(Number);
/** Cells to run, by latency: the grid COUNTS × LATENCIES, or BENCH_LLM_MATRIX's `N@ms` list. */
const CELLS: Map<number, number[]> = (() => {
  const cells = new Map<number, number[]>();
  const matrix = process.env.BENCH_LLM_MATRIX;
  if (matrix === undefined) for (const latency of LATENCIES) cells.set(latency, COUNTS);
  else {
    for (const cell of matrix.split(',')) {
      const [n, latency] = cell.split('@').map(Number) as [number, number];
      cells.set(latency, [...(cells.get(latency) ?? []), n]);
    }
  }
  return cells;
})();

async function startVendor(latencyMs: number): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['test/vendors/main.ts', '--latency', String(latencyMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.once('data', (chunk: Buffer) =>
      resolve((JSON.parse(chunk.toString()) as { url: string }).url),
    );
    child.once('exit', (code) => reject(new Error(`the fake vendor exited (${code})`)));
  });
  return { url, child };
}

export async function runLlmAgentsBench(): Promise<BenchReport> {
  const rows: BenchReport['rows'] = [];
  const figures: BenchReport['figures'] = {};
  for (const [latency, counts] of CELLS) {
    const vendor = await startVendor(latency);
    try {
      for (const n of counts) {
        const results = new Map<string, Result>();
        for (const contender of CONTENDERS) {
          const r = runChild<Result>(
            'bench/llm/agents-worker.ts',
            [contender, String(n), vendor.url],
            ['--max-old-space-size=8192'],
          );
          results.set(contender, r);
          rows.push({
            latency: `${latency} ms`,
            agents: n,
            contender: LABELS[contender] ?? contender,
            'steps/s': Math.round(r.stepsPerSec),
            'p50 ms': round(r.p50Ms, 1),
            'p99 ms': round(r.p99Ms, 1),
            'CPU ms/step': round(r.cpuMsPerStep, 3),
            'peak RSS MB': Math.round(r.peakRssMB),
            failures: r.failures === 0 ? 0 : `${r.failures} (${r.firstError})`,
          });
        }
        const key = `n${n}_${latency}ms`;
        const ours = results.get('agentfleet');
        const oldDefault = results.get('agentfleet-64');
        if (ours !== undefined && oldDefault !== undefined) {
          figures[`${key}_defaultStepsPerSec`] = Math.round(ours.stepsPerSec);
          figures[`${key}_oldDefault64StepsPerSec`] = Math.round(oldDefault.stepsPerSec);
          figures[`${key}_defaultVsOldDefault64`] = round(ours.stepsPerSec / oldDefault.stepsPerSec);
        }
        const floor = results.get('fetch');
        const undiciFloor = results.get('undici');
        if (ours === undefined || floor === undefined || undiciFloor === undefined) continue;
        // Own cost over the cheaper floor: Agentfleet's HTTP client is undici's Pool, not fetch.
        const base = Math.min(floor.cpuMsPerStep, undiciFloor.cpuMsPerStep);
        const own = (r: Result) => r.cpuMsPerStep - base;
        figures[`${key}_stepsPerSecVsFetchFloor`] = round(ours.stepsPerSec / floor.stepsPerSec);
        figures[`${key}_stepsPerSecVsUndiciFloor`] = round(ours.stepsPerSec / undiciFloor.stepsPerSec);
        figures[`${key}_ownCpuMsPerStep`] = round(own(ours), 3);
        const sdks = ['ai-sdk', 'openai-agents']
          .map((c) => results.get(c))
          .filter((r): r is Result => r !== undefined);
        if (sdks.length === 0) continue;
        const leaner = sdks.reduce((a, b) => (own(a) <= own(b) ? a : b));
        figures[`${key}_leanerSdk`] = leaner.contender;
        figures[`${key}_leanerSdkOwnCpuMsPerStep`] = round(own(leaner), 3);
        figures[`${key}_peakRssVsLeanerSdk`] = round(
          ours.peakRssMB / Math.min(...sdks.map((s) => s.peakRssMB)),
        );
      }
    } finally {
      vendor.child.kill('SIGTERM');
    }
  }
  return {
    name: 'llm-agents',
    measures:
      'N concurrent agents × (3 tool-call steps + final answer) against a fake OpenAI-format vendor in another process; Agentfleet as configured by default and with the old 64-connection default',
    rows,
    figures,
  };
}

if (import.meta.main) printReport(await runLlmAgentsBench());
