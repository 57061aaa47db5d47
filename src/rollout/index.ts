/**
 * Rollouts: canary releases of an agent from one version to another in steps (default 5% → 30%
 * → 100%), each held for a duration and gated on the new version's p99 latency, error rate and
 * checks against the old one's over the same window; a breach rolls back at once. The state is
 * shared through a `RolloutStore` (one decider per rollout by lease), applied on every node.
 * The NATS KV store is in `./internal.ts` (and `agentfleet/nats`), so this barrel loads no NATS.
 */
export type { RolloutErrorCode } from './error-codes.ts';
export { RolloutError } from './errors.ts';
export type { CheckInput, CheckResult, RolloutCheckFn } from './gates.ts';
export { LATENCY_BUCKETS, LatencyHistogram, type VersionStats } from './latency-histogram.ts';
export { MemoryRolloutStore } from './memory-rollout-store.ts';
export { RolloutManager, type RolloutManagerOptions, type RolloutView } from './rollout-manager.ts';
export {
  type CheckMetric,
  parseRolloutPlan,
  type RolloutCheck,
  type RolloutGates,
  type RolloutPlan,
  type RolloutPlanInput,
  rolloutPlanSchema,
} from './rollout-plan.ts';
export {
  type DecisionKind,
  type Figures,
  type FiguresPair,
  MAX_HISTORY,
  type RolloutDecision,
  type RolloutRecord,
  type RolloutStatusName,
  type RunSample,
  rolloutRecordSchema,
  type StepStats,
} from './rollout-record.ts';
export type {
  RolloutChange,
  RolloutStore,
  RolloutWatchHandlers,
  StoredRollout,
} from './rollout-store.ts';
export type { RolloutSplit, RolloutTarget } from './rollout-target.ts';
