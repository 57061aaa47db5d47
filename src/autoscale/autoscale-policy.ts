import { z } from 'zod';
import { formatIssues } from '../errors/index.ts';
import { AutoscaleError } from './errors.ts';

const name = z.string().min(1).max(128);
const durationMs = z.number().int().nonnegative();

/** One comparison of a metric with a number, e.g. `{ metric: 'cpu.utilisation', op: '>', value: 0.75 }`. */
export const metricConditionSchema = z.strictObject({
  /** A metric name of the node source, or PromQL text for Prometheus. */
  metric: z.string().min(1).max(4096),
  op: z.enum(['>', '>=', '<', '<=', '==', '!=']),
  value: z.number().finite(),
});

/** A step rule: when its conditions have held for `forMs`, change the size by `action.change`. */
export const scaleRuleSchema = z.strictObject({
  name,
  /** Every condition of `all` and at least one of `any` (when given); a metric with no data is false. */
  when: z
    .strictObject({
      all: z.array(metricConditionSchema).min(1).optional(),
      any: z.array(metricConditionSchema).min(1).optional(),
    })
    .refine((w) => w.all !== undefined || w.any !== undefined, { message: 'give all, any or both' }),
  /** How long the condition must hold, unbroken, before the rule fires, in ms (default 0). */
  forMs: durationMs.default(0),
  action: z.strictObject({
    type: z.literal('step'),
    /** Replicas to add (positive) or remove (negative). */
    change: z
      .number()
      .int()
      .refine((n) => n !== 0, { message: 'must not be 0' }),
  }),
});

/** Target tracking: keep `metric` near `target` per replica, desired = ceil(current × value / target). */
export const targetTrackingSchema = z.strictObject({
  metric: z.string().min(1).max(4096),
  /** The value wanted (e.g. 0.6 utilisation, 50 queued messages); greater than 0. */
  target: z.number().positive().finite(),
  /** No change while value / target is within 1 ± tolerance (default 0.1, as the Kubernetes HPA). */
  tolerance: z.number().nonnegative().max(1).default(0.1),
});

/** One autoscaling policy: what it scales, from which figures, within which bounds. */
export const autoscalePolicySchema = z
  .strictObject({
    name,
    /** The actuator (the thing whose size changes) by its name in the autoscaler's `actuators`. */
    actuator: name,
    /** The metric source by its name in the autoscaler's `sources` (default `node`). */
    source: name.default('node'),
    min: z.number().int().nonnegative(),
    max: z.number().int().positive(),
    /** No change within this long after the previous one, in ms (default 60 000). */
    cooldownMs: durationMs.default(60_000),
    /**
     * Scale down only to the highest size wanted within this window, in ms (default 300 000,
     * as the Kubernetes HPA), so an oscillating load does not flap. A step rule's `forMs` already
     * delays it, and the window adds to that delay: give 0 to rely on `forMs` alone.
     */
    scaleDownStabilizationMs: durationMs.default(300_000),
    rules: z.array(scaleRuleSchema).min(1).optional(),
    target: targetTrackingSchema.optional(),
    /** Only record what it would do (default false; the autoscaler's `dryRun` sets every policy). */
    dryRun: z.boolean().default(false),
  })
  .superRefine((p, ctx) => {
    if (p.min > p.max) ctx.addIssue({ code: 'custom', path: ['min'], message: `must be ≤ max (${p.max})` });
    if ((p.rules === undefined) === (p.target === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['rules'],
        message: 'give either rules (step scaling) or target (target tracking)',
      });
    }
    const seen = new Set<string>();
    p.rules?.forEach((rule, i) => {
      if (seen.has(rule.name))
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `duplicate rule ${rule.name}` });
      seen.add(rule.name);
    });
  });

export const autoscalePoliciesSchema = z.array(autoscalePolicySchema).superRefine((policies, ctx) => {
  const seen = new Set<string>();
  policies.forEach((p, i) => {
    if (seen.has(p.name))
      ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate policy ${p.name}` });
    seen.add(p.name);
  });
});

export type MetricCondition = z.output<typeof metricConditionSchema>;
export type ScaleRule = z.output<typeof scaleRuleSchema>;
export type TargetTracking = z.output<typeof targetTrackingSchema>;
/** A validated policy, defaults filled in. */
export type AutoscalePolicy = z.output<typeof autoscalePolicySchema>;
/** A policy as written in config or a spec. */
export type AutoscalePolicyInput = z.input<typeof autoscalePolicySchema>;

/**
 * Validates policies (from config, a spec, or code). Throws `AUTOSCALE_POLICY_INVALID` whose
 * message and `details.problems` name every bad field (`policies.0.rules.1.action.change: must not be 0`).
 */
export function parseAutoscalePolicies(input: unknown): AutoscalePolicy[] {
  const result = autoscalePoliciesSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = formatIssues(result.error).map((line) => `policies.${line}`);
  throw new AutoscaleError(
    'AUTOSCALE_POLICY_INVALID',
    `Invalid autoscaling policies: ${problems.join('; ')}`,
    {
      details: { problems },
    },
  );
}

/** Whether `value` satisfies `condition`; no data (undefined) is false. */
export function holds(condition: MetricCondition, value: number | undefined): boolean {
  if (value === undefined) return false;
  switch (condition.op) {
    case '>':
      return value > condition.value;
    case '>=':
      return value >= condition.value;
    case '<':
      return value < condition.value;
    case '<=':
      return value <= condition.value;
    case '==':
      return value === condition.value;
    case '!=':
      return value !== condition.value;
  }
}

/** The metric names (or PromQL texts) a policy reads, once each. */
export function policyQueries(policy: AutoscalePolicy): string[] {
  const queries = new Set<string>();
  if (policy.target !== undefined) queries.add(policy.target.metric);
  for (const rule of policy.rules ?? []) {
    for (const c of [...(rule.when.all ?? []), ...(rule.when.any ?? [])]) queries.add(c.metric);
  }
  return [...queries];
}
