export { Agent } from './agent.ts';
export {
  type AgentContext,
  type AgentDefinition,
  type AgentSpec,
  type Cognition,
  defineAgent,
  isAgentDefinition,
  type StepContext,
  type StepErrorPolicy,
} from './agent-definition.ts';
export type { AgentInfo, RunRequest, SendOptions } from './agent-info.ts';
export type {
  AgentStreamListener,
  AgentStreamPart,
  AgentStreamPartType,
  FinalPart,
  ProgressPart,
  RunStartPart,
  StepFinishPart,
  StepStartPart,
  StreamToolCall,
  StreamUsage,
  TextDeltaPart,
  ToolApprovalRequestPart,
  ToolCallPart,
  ToolResultPart,
} from './agent-stream.ts';
export type { CoreErrorCode } from './errors.ts';
export {
  AgentExistsError,
  AgentNotFoundError,
  AgentNotRunningError,
  AgentStartFailedError,
  AgentStepFailedError,
  AgentStoppedError,
  DefinitionExistsError,
  DefinitionNotFoundError,
  InvalidInputError,
  MailboxFullError,
  RuntimeClosedError,
} from './errors.ts';
export {
  AGENT_STATES,
  type AgentState,
  canTransition,
  IllegalTransitionError,
  isFinal,
  type TransitionEvent,
} from './lifecycle.ts';
export {
  type AgentErrorEvent,
  type CloseResult,
  type CreateAgentOptions,
  createRuntime,
  type ListAgentsOptions,
  Runtime,
  type RuntimeEvents,
} from './runtime.ts';
export type { RuntimeOptions } from './runtime-options.ts';
export type { RuntimeStats } from './runtime-stats.ts';
export type { StopOptions, StopResult } from './stop-result.ts';
export type { TenantAdmission, TenantUsage } from './tenant-ledger.ts';
