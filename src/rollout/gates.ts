import type { CheckMetric, RolloutCheck, RolloutGates } from './rollout-plan.ts';
import type { Figures, FiguresPair, RunSample } from './rollout-record.ts';

/** What a function check is given: both versions' figures over the step's window, and the latest runs of `to`. */
export interface CheckInput {
  from: Figures;
  to: Figures;
  samples: readonly RunSample[];
  tenant: string;
  definition: string;
}

/** A function check's verdict: `ok: false` rolls back, with `reason` in the record. */
export interface CheckResult {
  ok: boolean;
  reason?: string;
}

/** A check registered on the manager by name (`RolloutManagerOptions.checks`), named in plans as `{ type: 'function', name }`. */
export type RolloutCheckFn = (input: CheckInput) => CheckResult | Promise<CheckResult>;

/** The verdict on a window: `judged` false while `to` has too few results; `breaches` says why to roll back. */
export interface Verdict {
  judged: boolean;
  breaches: string[];
}

/**
 * Judges a window. `figures.from` is `from`'s own window when it had `minSamples` results, else
 * `baseline` (its last step that had them); with neither, the relative gates are skipped.
 */
export async function judge(
  gates: RolloutGates,
  checks: readonly RolloutCheck[],
  figures: FiguresPair,
  baseline: Figures | undefined,
  samples: readonly RunSample[],
  fns: Readonly<Record<string, RolloutCheckFn>>,
  where: { tenant: string; definition: string },
): Promise<Verdict> {
  const { to } = figures;
  if (to.count < gates.minSamples) return { judged: false, breaches: [] };
  const from = figures.from.count >= gates.minSamples ? figures.from : baseline;
  const breaches: string[] = [];
  if (from !== undefined) {
    const p99Bound = from.p99 * gates.maxP99Ratio + gates.p99SlackMs;
    if (to.p99 > p99Bound)
      breaches.push(
        `to.p99 ${ms(to.p99)} > ${gates.maxP99Ratio} × from.p99 ${ms(from.p99)} + ${ms(gates.p99SlackMs)}`,
      );
    if (to.errorRate > from.errorRate + gates.maxErrorRateDelta)
      breaches.push(
        `to.errorRate ${rate(to.errorRate)} > from.errorRate ${rate(from.errorRate)} + ${gates.maxErrorRateDelta}`,
      );
  }
  const pair = { from: from ?? figures.from, to };
  for (const check of checks) {
    if (check.type === 'metric') {
      const value = metric(pair, check.metric);
      if (check.max !== undefined && value > check.max)
        breaches.push(`check ${check.name}: ${check.metric} ${value} > max ${check.max}`);
      if (check.min !== undefined && value < check.min)
        breaches.push(`check ${check.name}: ${check.metric} ${value} < min ${check.min}`);
      continue;
    }
    const fn = fns[check.name];
    if (fn === undefined) {
      breaches.push(`check ${check.name}: no such check function on this node`);
      continue;
    }
    try {
      const result = await fn({ from: pair.from, to, samples, ...where });
      if (result?.ok !== true) breaches.push(`check ${check.name}: ${result?.reason ?? 'failed'}`);
    } catch (error) {
      breaches.push(`check ${check.name} threw: ${(error as Error)?.message ?? String(error)}`);
    }
  }
  return { judged: true, breaches };
}

function metric(pair: FiguresPair, name: CheckMetric): number {
  const [side, figure] = name.split('.') as ['from' | 'to', keyof Figures];
  return pair[side][figure];
}

const ms = (n: number) => `${Math.round(n * 10) / 10}ms`;
const rate = (n: number) => String(Math.round(n * 10_000) / 10_000);
