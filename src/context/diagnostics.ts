import { channel } from 'node:diagnostics_channel';

/**
 * What the runtime reports about its work, on `node:diagnostics_channel` channels. Publishing
 * costs one `hasSubscribers` check when nobody listens; metrics (and anyone else, e.g. an APM
 * agent) subscribe. This module has no dependencies so every capability can import it.
 */

/** One model call, published when it ends (successfully or not). */
export interface ModelCallEvent {
  /** Provider name as configured (`openai`, `qwen`, `anthropic`, …). */
  provider: string;
  /** The requested model. */
  model: string;
  /** `generate` (one response) or `stream`. */
  mode: 'generate' | 'stream';
  durationMs: number;
  /** Token usage, when the call got that far. */
  inputTokens: number | undefined;
  outputTokens: number | undefined;
  /** Undefined on success; the error's `code` (or `INTERNAL`) on failure. */
  errorCode: string | undefined;
}

/** One tool execution, published when it ends. */
export interface ToolCallEvent {
  tool: string;
  durationMs: number;
  /** `ok`, or why not: TOOL_UNKNOWN, TOOL_ARGUMENTS_INVALID, TOOL_TIMEOUT, TOOL_FAILED. */
  outcome: string;
}

/** One agent step (Perception → Cognition → Action), published when it ends. */
export interface AgentStepEvent {
  definition: string;
  durationMs: number;
  ok: boolean;
}

/**
 * A capped provider's queue (`concurrency` in the provider config): a call started waiting,
 * got its slot, was aborted while waiting, or was refused because the queue was full.
 */
export interface ModelQueueEvent {
  provider: string;
  kind: 'queued' | 'started' | 'aborted' | 'rejected';
  /** Calls waiting after this event. */
  waiting: number;
  /** How long the call waited, in ms (0 for `queued` and `rejected`). */
  waitMs: number;
}

export const modelCallChannel = channel('agentfleet:model-call');
export const modelQueueChannel = channel('agentfleet:model-queue');
export const toolCallChannel = channel('agentfleet:tool-call');
export const agentStepChannel = channel('agentfleet:agent-step');

/** A resilience policy's circuit changed state, or its rate limit refused a call. */
export type ResilienceEvent =
  | { kind: 'circuit'; policy: string; from: string; to: 'closed' | 'open' | 'half-open' }
  | { kind: 'rate-limited'; policy: string };

export const resilienceChannel = channel('agentfleet:resilience');

/**
 * A budget gate's work on one model call: what it `spent` (reconciled with the usage the
 * vendor reported), or that it `refused` the call (`scope` and `limit` say which budget).
 */
export interface BudgetEvent {
  kind: 'spent' | 'refused';
  tenant: string | undefined;
  agentId: string;
  /** `provider/model`. */
  model: string;
  tokens: number;
  /** Cost in micro-units of the price unit (millionths of, e.g., a dollar). */
  costMicros: number;
  scope?: 'tenant' | 'agent';
  limit?: 'tokens' | 'cost';
}

export const budgetChannel = channel('agentfleet:budget');
