/**
 * The ground floor every capability stands on: the tenant context, the diagnostics events,
 * the trace hooks and the logger. Nothing here imports a capability.
 */
export {
  type AgentStepEvent,
  agentStepChannel,
  type BudgetEvent,
  budgetChannel,
  type ModelCallEvent,
  type ModelQueueEvent,
  modelCallChannel,
  modelQueueChannel,
  type ResilienceEvent,
  resilienceChannel,
  type ToolCallEvent,
  toolCallChannel,
} from './diagnostics.ts';
export type { ContextErrorCode } from './error-codes.ts';
export { createLogger, type LoggerOptions, REDACTED_PATHS } from './logger.ts';
export {
  currentTenant,
  currentTenantId,
  InvalidTenantIdError,
  requireTenant,
  runInTenant,
  TENANT_ID_PATTERN,
  type TenantContext,
  TenantRequiredError,
  tenantContext,
  withoutTenant,
  withTenant,
} from './tenant-context.ts';
export {
  activeTraceparent,
  agentfleetTracer,
  contentCaptureEnabled,
  contextFromTraceparent,
  dropNewTrace,
  enableTracing,
  HEAD_SAMPLED,
  inSpan,
  recordFailure,
  runUnsampled,
  SpanKind,
  tracingEnabled,
  wouldRecord,
} from './trace-hooks.ts';
