export { LLM_DURATION_BUCKETS, STEP_DURATION_BUCKETS, TOOL_DURATION_BUCKETS } from './event-metrics.ts';
export { LabelCap, OTHER_LABEL } from './label-cap.ts';
export { createMetrics, type Metrics } from './metrics.ts';
export type { MetricsOptions } from './metrics-options.ts';
