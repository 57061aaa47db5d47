/**
 * Autoscaling: resize pools, agent groups or cluster workers from metrics, by policies (step
 * rules held for a duration, or target tracking) within min and max, with cooldown,
 * scale-down stabilisation and dry-run; every decision recorded. Metrics come from a
 * `MetricSource`: the node's own figures (`NodeMetricSource`) or a real Prometheus through
 * PromQL (`PrometheusMetricSource`, plain `fetch`, so this barrel loads no client library).
 */
export type { Actuator } from './actuator.ts';
export type { AutoscaleDecision, AutoscalePolicyStatus, AutoscaleState } from './autoscale-decision.ts';
export {
  type AutoscalePolicy,
  type AutoscalePolicyInput,
  autoscalePoliciesSchema,
  autoscalePolicySchema,
  type MetricCondition,
  parseAutoscalePolicies,
  type ScaleRule,
  type TargetTracking,
} from './autoscale-policy.ts';
export { Autoscaler, type AutoscalerOptions } from './autoscaler.ts';
export type { AutoscaleErrorCode } from './error-codes.ts';
export { AutoscaleError } from './errors.ts';
export type { MetricQuery, MetricReading, MetricSource } from './metric-source.ts';
export { NodeMetricSource, type NodeMetricSourceOptions, type RuntimeFigures } from './node-metric-source.ts';
export {
  PrometheusMetricSource,
  type PrometheusMetricSourceOptions,
  type PrometheusSourceStatus,
} from './prometheus-metric-source.ts';
