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

export const modelCallChannel = channel('agentfleet:model-call');
export const toolCallChannel = channel('agentfleet:tool-call');
export const agentStepChannel = channel('agentfleet:agent-step');

/** A resilience policy's circuit changed state, or its rate limit refused a call. */
export type ResilienceEvent =
  | { kind: 'circuit'; policy: string; from: string; to: 'closed' | 'open' | 'half-open' }
  | { kind: 'rate-limited'; policy: string };

export const resilienceChannel = channel('agentfleet:resilience');
