export type { LlmAgentErrorCode } from './error-codes.ts';
export {
  type AgentEvent,
  type KnowledgeSource,
  type LlmAnswer,
  LlmCognition,
  type LlmCognitionOptions,
  type LlmInput,
  llm,
  OutputInvalidError,
  type StopReason,
} from './loop.ts';
export { ConversationMemory, type ConversationMemoryOptions } from './memory.ts';
