export { createEmbeddings, type EmbeddingsClient, type EmbeddingsConfig } from './embeddings.ts';
export { LlmError, type LlmErrorCode, parseRetryAfter } from './errors.ts';
export type { HttpOptions } from './http.ts';
export {
  createProvider,
  ModelRegistry,
  PRESETS,
  type ProviderConfig,
  type ProviderKind,
} from './providers.ts';
export type {
  AssistantMessage,
  CallOptions,
  FallbackRecord,
  FinishReason,
  GenerateRequest,
  GenerateResult,
  Message,
  Provider,
  ResponseFormat,
  StreamEvent,
  SystemMessage,
  ToolCall,
  ToolChoice,
  ToolMessage,
  ToolSpec,
  Usage,
  UserMessage,
} from './types.ts';
