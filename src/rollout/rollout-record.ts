import { z } from 'zod';
import { LatencyHistogram, versionStatsSchema } from './latency-histogram.ts';
import { rolloutCheckSchema, rolloutGatesSchema } from './rollout-plan.ts';

/** One version's figures over a step's window (all nodes merged). Latencies in ms, `errorRate` 0-1; all 0 when `count` is 0. */
export const figuresSchema = z.strictObject({
  count: z.number().int().min(0),
  errors: z.number().int().min(0),
  errorRate: z.number().min(0).max(1),
  p50: z.number().min(0),
  p99: z.number().min(0),
});
export type Figures = z.output<typeof figuresSchema>;

/** Both versions' figures. */
export const pairSchema = z.strictObject({ from: figuresSchema, to: figuresSchema });
export type FiguresPair = z.output<typeof pairSchema>;

/** What a rollout is doing: `running` and `paused` are active; the others are final. */
export const rolloutStatusSchema = z.enum(['running', 'paused', 'promoted', 'rolled-back', 'aborted']);
export type RolloutStatusName = z.output<typeof rolloutStatusSchema>;

export const decisionKindSchema = z.enum([
  'start',
  'advance',
  'promote',
  'rollback',
  'pause',
  'resume',
  'abort',
]);
export type DecisionKind = z.output<typeof decisionKindSchema>;

/** One decision of a rollout: each is also told to `onDecision` (an event, a log line and a metric). */
export const decisionSchema = z.strictObject({
  /** When, ms since the epoch (the manager's clock). */
  at: z.number(),
  decision: decisionKindSchema,
  /** The step index (0-based) and its percentage after the decision. */
  step: z.number().int().min(0),
  percent: z.number().min(0).max(100),
  reason: z.string().max(2_000),
  /** The figures it was made on (the step's window so far). */
  figures: pairSchema,
  /** The node that made it. */
  node: z.string(),
});
export type RolloutDecision = z.output<typeof decisionSchema>;

/** Decisions kept per record (the oldest are dropped). */
export const MAX_HISTORY = 100;

/** A rollout as the shared store keeps it: one per tenant and definition (the latest). */
export const rolloutRecordSchema = z.strictObject({
  v: z.literal(1),
  /** This rollout's id (a new one per start). */
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  tenant: z.string(),
  definition: z.string(),
  from: z.string(),
  to: z.string(),
  steps: z.array(z.number()),
  holdMs: z.number(),
  gates: rolloutGatesSchema,
  checks: z.array(rolloutCheckSchema),
  stepIndex: z.number().int().min(0),
  /** Percentage of traffic on `to` now (0 once rolled back or aborted, 100 once promoted). */
  percent: z.number().min(0).max(100),
  status: rolloutStatusSchema,
  startedAt: z.number(),
  updatedAt: z.number(),
  /** When the current step's window started (ms since the epoch). */
  stepStartedAt: z.number(),
  /** The current window's id: changes on every advance and resume, so every node's stats restart. */
  stepId: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/),
  /** Why it finished (rolled back, aborted, promoted). */
  reason: z.string().max(2_000).optional(),
  /** `from`'s figures of the last step in which it had `minSamples` results: the baseline when it gets no traffic (at 100%). */
  baseline: figuresSchema.optional(),
  /** The figures of the last decision. */
  figures: pairSchema,
  history: z.array(decisionSchema).max(MAX_HISTORY),
});
export type RolloutRecord = z.output<typeof rolloutRecordSchema>;

/** True while a rollout can still change (running or paused). */
export const isActive = (status: RolloutStatusName): boolean => status === 'running' || status === 'paused';

/** One run of the new version kept for function checks (the last `sampleSize` of the window). */
export const runSampleSchema = z.strictObject({
  at: z.number(),
  ok: z.boolean(),
  latencyMs: z.number(),
  runId: z.string().optional(),
  output: z.unknown().optional(),
});
export type RunSample = z.output<typeof runSampleSchema>;

/** What one node saw in one step's window: both versions' stats and its last samples of `to`. */
export const stepStatsSchema = z.strictObject({
  from: versionStatsSchema,
  to: versionStatsSchema,
  samples: z.array(runSampleSchema),
});
export type StepStats = z.output<typeof stepStatsSchema>;

/** Figures of a histogram. */
export function figuresOf(h: LatencyHistogram): Figures {
  return {
    count: h.count,
    errors: h.errors,
    errorRate: h.count === 0 ? 0 : h.errors / h.count,
    p50: round(h.quantile(0.5)),
    p99: round(h.quantile(0.99)),
  };
}

export const EMPTY_FIGURES: Figures = { count: 0, errors: 0, errorRate: 0, p50: 0, p99: 0 };
export const EMPTY_PAIR: FiguresPair = { from: EMPTY_FIGURES, to: EMPTY_FIGURES };

/** Several nodes' stats of one window merged: the figures and the latest `sampleSize` samples. */
export function mergeStepStats(
  all: readonly StepStats[],
  sampleSize: number,
): { figures: FiguresPair; samples: RunSample[] } {
  const from = new LatencyHistogram();
  const to = new LatencyHistogram();
  const samples: RunSample[] = [];
  for (const s of all) {
    from.merge(s.from);
    to.merge(s.to);
    samples.push(...s.samples);
  }
  samples.sort((a, b) => a.at - b.at);
  return { figures: { from: figuresOf(from), to: figuresOf(to) }, samples: samples.slice(-sampleSize) };
}

const round = (n: number) => Math.round(n * 100) / 100;

// Keys: `<tenant>.<definition>` tokens, each plain (1-64 of A-Z, a-z, 0-9, _ and -) or "=" and
// its base64url text, the scheme of the cluster's agent keys: valid in KV keys and lease keys.
const PLAIN = /^[A-Za-z0-9_-]{1,64}$/;
const TOKEN = /^(?:[A-Za-z0-9_-]{1,64}|=[A-Za-z0-9_-]{1,400})$/;

/** A tenant's or definition's key token. */
export function keyToken(value: string): string {
  return PLAIN.test(value) ? value : `=${Buffer.from(value, 'utf8').toString('base64url')}`;
}

/** The value of a key token; undefined for a string that is not one. */
export function fromKeyToken(token: string): string | undefined {
  if (!TOKEN.test(token)) return undefined;
  return token.startsWith('=') ? Buffer.from(token.slice(1), 'base64url').toString('utf8') : token;
}

/** `<tenant>.<definition>`: a rollout's key in stores and leases. */
export function rolloutKey(tenant: string, definition: string): string {
  return `${keyToken(tenant)}.${keyToken(definition)}`;
}
