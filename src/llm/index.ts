export type { ConcurrencyOptions, QueueStats } from './call-gate.ts';
export type { Embedder, EmbedOptions } from './embedder.ts';
export { createEmbeddings, type EmbeddingsConfig, type ProviderEmbedder } from './embeddings.ts';
export { LlmError, type LlmErrorCode, type ProviderConfigErrorCode, parseRetryAfter } from './errors.ts';
export { DEFAULT_CONNECTIONS, type HttpOptions, type HttpPoolStats } from './http.ts';
export { createVendorProvider, PRESETS, type ProviderKind, type VendorProviderConfig } from './providers.ts';
export type {
  AssistantMessage,
  CallOptions,
  FinishReason,
  GenerateRequest,
  GenerateResult,
  Message,
  Provider,
  ProviderStats,
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
