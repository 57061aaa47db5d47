export type { LlmAgentErrorCode } from './error-codes.ts';
export { LlmCognition, llm } from './loop.ts';
export {
  type AgentEvent,
  type KnowledgeSource,
  type LlmAnswer,
  type LlmCognitionOptions,
  type LlmInput,
  type LoopContext,
  OutputInvalidError,
  type StopReason,
} from './loop-types.ts';
export { ConversationMemory, type ConversationMemoryOptions } from './memory.ts';
