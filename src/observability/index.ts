export { type EventLoopDelay, EventLoopMonitor } from './event-loop-monitor.ts';
export {
  createMetrics,
  LabelCap,
  LLM_DURATION_BUCKETS,
  type Metrics,
  type MetricsOptions,
  OTHER_LABEL,
  STEP_DURATION_BUCKETS,
  TOOL_DURATION_BUCKETS,
} from './metrics/index.ts';
export { setupTracing, type TracingHandle, type TracingOptions } from './tracing-setup.ts';
