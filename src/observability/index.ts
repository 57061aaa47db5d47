export {
  type AgentStepEvent,
  agentStepChannel,
  type ModelCallEvent,
  type ModelQueueEvent,
  modelCallChannel,
  modelQueueChannel,
  type ToolCallEvent,
  toolCallChannel,
} from './events.ts';
export {
  activeTraceparent,
  contentCaptureEnabled,
  contextFromTraceparent,
  enableTracing,
  tracingEnabled,
} from './trace-hooks.ts';
export { setupTracing, type TracingHandle, type TracingOptions } from './tracing-setup.ts';
