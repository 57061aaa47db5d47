import { z } from 'zod';
import { formatIssues } from '../errors/index.ts';
import { RolloutError } from './errors.ts';

/** A figure a declarative check reads: `to.*` is the new version's, `from.*` the old one's, over the step's window. */
export const checkMetricSchema = z.enum([
  'to.p50',
  'to.p99',
  'to.errorRate',
  'to.count',
  'from.p50',
  'from.p99',
  'from.errorRate',
  'from.count',
]);
export type CheckMetric = z.output<typeof checkMetricSchema>;

const checkName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, _, . or -');

/** A declarative check: `metric` must stay within `[min, max]` (at least one of them). */
export const metricCheckSchema = z
  .strictObject({
    type: z.literal('metric'),
    name: checkName,
    metric: checkMetricSchema,
    /** Breach when the figure is above this (ms for latencies, 0-1 for error rates). */
    max: z.number().finite().optional(),
    /** Breach when the figure is below this. */
    min: z.number().finite().optional(),
  })
  .refine((c) => c.max !== undefined || c.min !== undefined, { message: 'a metric check needs max or min' });

/** A check by a function registered on the manager under `name` (`RolloutManagerOptions.checks`). */
export const functionCheckSchema = z.strictObject({ type: z.literal('function'), name: checkName });

export const rolloutCheckSchema = z.union([metricCheckSchema, functionCheckSchema]);
export type RolloutCheck = z.output<typeof rolloutCheckSchema>;

/**
 * The gates every step must pass, comparing the new version (`to`) with the old one (`from`)
 * over the step's window. Nothing is judged until `to` has `minSamples` results in the window:
 * a breach needs them as much as an advance does, so a handful of early failures never rolls back.
 */
export const rolloutGatesSchema = z.strictObject({
  /** `to` breaches when its p99 > `from`'s p99 × this + `p99SlackMs`. Default 1.5. */
  maxP99Ratio: z.number().min(1).max(1_000).default(1.5),
  /** Milliseconds added to the p99 bound, so that fast versions are not judged on noise. Default 50. */
  p99SlackMs: z.number().min(0).max(3_600_000).default(50),
  /** `to` breaches when its error rate > `from`'s + this (0-1). Default 0.05. */
  maxErrorRateDelta: z.number().min(0).max(1).default(0.05),
  /** Results of `to` in the window before any gate is judged (and a step may advance). Default 20. */
  minSamples: z.number().int().min(1).max(1_000_000).default(20),
});
export type RolloutGates = z.output<typeof rolloutGatesSchema>;

/** The plan of a rollout, as `RolloutManager.start` takes it. */
export const rolloutPlanSchema = z.strictObject({
  /** The version to roll out (the target must know it). */
  to: z.string().min(1).max(128),
  /** Percentages of traffic on `to`, one step each, strictly ascending and ending at 100. Default [5, 30, 100]. */
  steps: z
    .array(z.number().gt(0).max(100))
    .min(1)
    .max(20)
    .default([5, 30, 100])
    .refine((s) => s.every((p, i) => i === 0 || p > s[i - 1]!), {
      message: 'steps must be strictly ascending',
    })
    .refine((s) => s[s.length - 1] === 100, { message: 'the last step must be 100' }),
  /** How long each step (the last, at 100%, too) is held before it may advance, ms. Default 60,000. */
  holdMs: z
    .number()
    .int()
    .min(100)
    .max(30 * 86_400_000)
    .default(60_000),
  gates: rolloutGatesSchema.default(() => rolloutGatesSchema.parse({})),
  /** Further checks, each judged with the gates. Default none. */
  checks: z.array(rolloutCheckSchema).max(20).default([]),
});
/** A plan as written (defaults unfilled). */
export type RolloutPlanInput = z.input<typeof rolloutPlanSchema>;
/** A validated plan. */
export type RolloutPlan = z.output<typeof rolloutPlanSchema>;

/** Validates a plan. @throws RolloutError `ROLLOUT_INVALID` naming every bad field. */
export function parseRolloutPlan(plan: unknown): RolloutPlan {
  const result = rolloutPlanSchema.safeParse(plan ?? {});
  if (result.success) return result.data;
  const problems = formatIssues(result.error);
  throw new RolloutError('ROLLOUT_INVALID', `Invalid rollout plan: ${problems.join('; ')}`, {
    details: { problems },
  });
}
