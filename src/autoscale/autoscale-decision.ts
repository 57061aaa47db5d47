/**
 * Where a policy stands after its last evaluation:
 * - `ok`: at the size it wants (or just changed to it);
 * - `holding`: a rule's condition holds but not yet for its `forMs`;
 * - `stabilising`: it wants fewer, held at the highest size wanted within the stabilisation window;
 * - `cooling`: it wants another size, within the cooldown after the previous change;
 * - `dry-run`: it would have changed the size (dry-run mode never calls the actuator);
 * - `no-data`: a metric it needs returned nothing;
 * - `source-unavailable`: the source could not be reached (the size stays);
 * - `query-invalid`: the source refused a query (bad PromQL, unknown node metric);
 * - `actuator-failed`: reading or setting the size failed.
 */
export type AutoscaleState =
  | 'ok'
  | 'holding'
  | 'stabilising'
  | 'cooling'
  | 'dry-run'
  | 'no-data'
  | 'source-unavailable'
  | 'query-invalid'
  | 'actuator-failed';

/** One evaluation of a policy: what it read, what it wanted, what it did and why. */
export interface AutoscaleDecision {
  policy: string;
  actuator: string;
  /** When, in ms since the epoch (the autoscaler's clock). */
  at: number;
  /** `scale`: the size changed; `dry-run`: it would have; `hold`: it stayed (see `reason`). */
  kind: 'scale' | 'dry-run' | 'hold';
  state: AutoscaleState;
  /** The size before. */
  from: number;
  /** The size after (`from` for a hold; the size it would set for a dry run). */
  to: number;
  /** The size the rules or target asked for, before cooldown and stabilisation. */
  desired: number;
  /** The rule that fired (`target` for target tracking, `bounds` when only min/max moved it). */
  rule?: string;
  /** Why, in words: `source-unavailable: Prometheus at … is unreachable: connect ECONNREFUSED …`. */
  reason: string;
  /** Each metric read, by query; null for no data or an error. */
  inputs: Record<string, number | null>;
  /** Consecutive evaluations with the same outcome this entry stands for (1 when new). */
  repeats: number;
  /** When the last of those repeats was, in ms since the epoch. */
  lastAt: number;
}

/** Where one policy stands now, for `Autoscaler.status()`. */
export interface AutoscalePolicyStatus {
  policy: string;
  actuator: string;
  source: string;
  dryRun: boolean;
  /** The size at the last evaluation (undefined before the first). */
  current: number | undefined;
  /** The size it wants now (after stabilisation, before cooldown). */
  desired: number | undefined;
  state: AutoscaleState | 'idle';
  reason: string;
  lastDecision: AutoscaleDecision | undefined;
  /** When the size last changed (or would have, in dry-run mode), in ms since the epoch. */
  lastChangeAt: number | undefined;
  /** Recent decisions, oldest first, at most the autoscaler's `historySize`. */
  history: AutoscaleDecision[];
}
