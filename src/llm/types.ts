import type { QueueStats } from './call-gate.ts';
import type { HttpPoolStats } from './http.ts';

/** One message of a conversation, the same for every vendor. */
export type Message = SystemMessage | UserMessage | AssistantMessage | ToolMessage;

export interface SystemMessage {
  role: 'system';
  content: string;
}

export interface UserMessage {
  role: 'user';
  content: string;
}

export interface AssistantMessage {
  role: 'assistant';
  content: string;
  /** Tool calls the model asked for in this turn. */
  toolCalls?: ToolCall[];
}

/** The result of one tool call, sent back to the model. */
export interface ToolMessage {
  role: 'tool';
  toolCallId: string;
  /** The tool's name (Anthropic and DashScope want it; OpenAI ignores it). */
  name: string;
  content: string;
  /** True when `content` describes a failure the model should recover from. */
  isError?: boolean;
}

/** A call the model made: `arguments` is the raw JSON text exactly as the model wrote it. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** A tool as the model sees it: `parameters` is a JSON Schema object. */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

/** Structured output: free JSON, or JSON that follows a schema. */
export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json' }
  | { type: 'json_schema'; name: string; schema: Record<string, unknown>; strict?: boolean };

/** Everything one model call can say, whatever the vendor. */
export interface GenerateRequest {
  /** The vendor's model name (without the `provider/` prefix). */
  model: string;
  messages: Message[];
  tools?: ToolSpec[];
  toolChoice?: ToolChoice;
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  stop?: string[];
  responseFormat?: ResponseFormat;
  /** Extra HTTP headers for this call. */
  headers?: Record<string, string>;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  /** False when the vendor did not report usage and the figures are estimates (≈ 4 characters a token). */
  reported: boolean;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'error' | 'other';

export interface GenerateResult {
  text: string;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  usage: Usage;
  /** The vendor's response id, when it sent one. */
  id?: string;
  /** The model the vendor says answered (its `model` field, e.g. a dated version), when it sent one. */
  modelVersion?: string;
}

/** The stream of one call, normalised across vendors. It always ends with `finish` or `error`. */
export type StreamEvent =
  | { type: 'text-delta'; text: string }
  | { type: 'tool-call-start'; index: number; id: string; name: string }
  | { type: 'tool-call-delta'; index: number; argumentsDelta: string }
  | { type: 'tool-call-end'; index: number; call: ToolCall }
  | { type: 'usage'; usage: Usage }
  | {
      type: 'finish';
      reason: FinishReason;
      usage: Usage;
      text: string;
      toolCalls: ToolCall[];
      /** The model the vendor says answered, when it sent one. */
      modelVersion?: string;
    }
  | { type: 'error'; error: Error };

export interface CallOptions {
  signal?: AbortSignal;
}

/** What a provider's queue and connections hold right now (see `HttpProvider.stats`). */
export interface ProviderStats {
  queue: QueueStats;
  http: HttpPoolStats;
}

/** A model vendor behind one interface. */
export interface Provider {
  /** The registry name (`openai`, `anthropic`, `dashscope`, …). */
  readonly name: string;
  generate(request: GenerateRequest, options?: CallOptions): Promise<GenerateResult>;
  /** Never throws once iterating: failures arrive as an `error` event, which ends the stream. */
  stream(request: GenerateRequest, options?: CallOptions): AsyncIterable<StreamEvent>;
  /** Closes pooled connections. */
  close(): Promise<void>;
  /**
   * Closes at once: calls in flight fail with `error`, connections are dropped (a models
   * reload's drain timeout). Without it, `close()` is all a provider can do.
   */
  destroy?(error: Error): Promise<void>;
  /** The provider's queue and connection figures, when it has them (HTTP providers do). */
  stats?(): ProviderStats;
}
