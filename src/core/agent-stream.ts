/**
 * What an agent streams to its sender while it handles one message (`ctx.emit(part)` in a
 * step, `send(input, { onEvent })` at the sender, one SSE event per part on HTTP). One union,
 * discriminated on `type`, from cognition to the wire. Core sits below the LLM layer, so the
 * payloads of the LLM loop's parts are the structural shapes every consumer relies on; the
 * loop's own event type (`AgentEvent` in llm-agent) is a member-for-member subtype of it.
 */

/** A tool call the model asked for (`arguments` is the model's JSON text). */
export interface StreamToolCall {
  readonly id: string;
  readonly name: string;
  readonly arguments: string;
}

/** Tokens counted for one model call. */
export interface StreamUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** False when the vendor did not report usage and the figures are estimates. */
  readonly reported: boolean;
}

/** A step of the LLM loop began (steps count from 1). */
export interface StepStartPart {
  readonly type: 'step-start';
  readonly step: number;
}

/** Text the model produced, as it arrives. */
export interface TextDeltaPart {
  readonly type: 'text-delta';
  readonly step: number;
  readonly text: string;
}

/** The model called a tool. */
export interface ToolCallPart {
  readonly type: 'tool-call';
  readonly step: number;
  readonly call: StreamToolCall;
}

/** A tool call finished; `error` is set when it failed. */
export interface ToolResultPart {
  readonly type: 'tool-result';
  readonly step: number;
  readonly outcome: {
    readonly call: StreamToolCall;
    readonly error: { readonly code: string; readonly message: string } | undefined;
    readonly value: unknown;
    readonly durationMs: number;
  };
}

/** A step of the LLM loop ended, with the tokens it used. */
export interface StepFinishPart {
  readonly type: 'step-finish';
  readonly step: number;
  readonly usage: StreamUsage;
}

/** The LLM loop's answer (the message's result follows it). */
export interface FinalPart {
  readonly type: 'final';
  readonly answer: { readonly text: string; readonly steps: number; readonly toolCalls: number };
}

/**
 * Progress of any other agent (a function agent, a rules or knowledge cognition): `name`
 * says what it is (letters, digits, `-`, `.`; e.g. `rule-fired`), `data` is JSON.
 */
export interface ProgressPart {
  readonly type: 'progress';
  readonly name: string;
  readonly data?: unknown;
}

/** A durable run started or resumed: its id names it for `GET /v1/runs/:id/events`, approvals and cancel. */
export interface RunStartPart {
  readonly type: 'run-start';
  readonly runId: string;
  /** True when the run continues from a checkpoint. */
  readonly resumed: boolean;
}

/**
 * The run stopped before a tool call that needs a person's decision (`kind: 'interrupted'`:
 * a call that started before a crash and may not run twice): approve, reject, or let it expire.
 */
export interface ToolApprovalRequestPart {
  readonly type: 'tool-approval-request';
  readonly step: number;
  readonly approvalId: string;
  readonly runId: string;
  readonly call: StreamToolCall;
  readonly kind: 'approval' | 'interrupted';
  readonly reason?: string;
}

/** Everything an agent can stream while it handles a message. */
export type AgentStreamPart =
  | RunStartPart
  | ToolApprovalRequestPart
  | StepStartPart
  | TextDeltaPart
  | ToolCallPart
  | ToolResultPart
  | StepFinishPart
  | FinalPart
  | ProgressPart;

/** The `type`s of `AgentStreamPart`, e.g. for SSE event names. */
export type AgentStreamPartType = AgentStreamPart['type'];

/** Receives the parts an agent streams for one message. */
export type AgentStreamListener = (part: AgentStreamPart) => void;
