// Per-task overhead of WorkerPool.run against p-limit, same concurrency, same run.
import pLimit from 'p-limit';
import { WorkerPool } from '../src/pool/index.ts';
import { type BenchReport, bestOf, printReport, round } from './report.ts';

const TASKS = 1_000_000;
const asyncTask = async () => 1;
const syncTask = () => 1;

type Runner = (task: () => unknown) => Promise<unknown>;

async function burst(run: Runner, task: () => unknown): Promise<void> {
  const all = new Array<Promise<unknown>>(TASKS);
  for (let i = 0; i < TASKS; i++) all[i] = run(task);
  await Promise.all(all);
}

async function loops(run: Runner, task: () => unknown, concurrency: number): Promise<void> {
  const perLoop = TASKS / concurrency;
  const loop = async () => {
    for (let i = 0; i < perLoop; i++) await run(task);
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
}

export async function runPoolBench(): Promise<BenchReport> {
  const rows: BenchReport['rows'] = [];
  const ratios: number[] = [];
  for (const concurrency of [16, 1024]) {
    for (const [shape, driver] of [
      ['burst', burst],
      ['loops', (run: Runner, task: () => unknown) => loops(run, task, concurrency)],
    ] as const) {
      for (const [kind, task] of [
        ['async', asyncTask],
        ['sync', syncTask],
      ] as const) {
        const measure = async (make: () => Runner) => {
          await driver(make(), task); // warm-up
          return bestOf(5, () => driver(make(), task));
        };
        const ours = await measure(() => {
          const pool = new WorkerPool({ capacity: concurrency, queueLimit: TASKS });
          return (t) => pool.run(t);
        });
        const theirs = await measure(() => pLimit(concurrency) as Runner);
        const ratio = ours / theirs;
        ratios.push(ratio);
        rows.push({
          concurrency,
          shape,
          task: kind,
          'WorkerPool ns/task': round((ours * 1e6) / TASKS, 1),
          'p-limit ns/task': round((theirs * 1e6) / TASKS, 1),
          'ratio (≤1.2 target)': round(ratio),
        });
      }
    }
  }
  return {
    name: 'pool',
    measures: `WorkerPool.run vs p-limit, ${TASKS.toLocaleString()} tasks, best of 5`,
    rows,
    figures: {
      worstRatio: round(Math.max(...ratios)),
      meanRatio: round(ratios.reduce((a, b) => a + b) / ratios.length),
    },
  };
}

if (import.meta.main) printReport(await runPoolBench());
