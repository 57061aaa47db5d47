export { type Chunk, type ChunkOptions, chunkText } from './chunker.ts';
export type { StorageStats } from './document-log.ts';
export { HashingEmbedder, type HashingEmbedderOptions } from './embedder.ts';
export type { KnowledgeErrorCode } from './error-codes.ts';
export { ExactIndex, type ExactIndexOptions, VectorInvalidError } from './exact-index.ts';
export { type HnswGraph, type HnswRestoreResult, KnowledgeGraphInvalidError } from './hnsw-graph.ts';
export { type KnowledgeGraphEvent, knowledgeGraphChannel } from './hnsw-graph-file.ts';
export { HnswIndex, type HnswOptions } from './hnsw-index.ts';
export {
  KnowledgeBase,
  type KnowledgeBaseOptions,
  type KnowledgeDocument,
  KnowledgeInvalidError,
  type Passage,
} from './knowledge-base.ts';
export { type KnowledgeAnswer, knowledgeCognition } from './knowledge-cognition.ts';
export {
  type CorruptDetails,
  KnowledgeStoreCorruptError,
  KnowledgeStoreLockedError,
} from './store-errors.ts';
export { type KnowledgeQuota, KnowledgeQuotaExceededError } from './tenant-usage.ts';
export type { VectorFilter, VectorHit, VectorIndex, VectorMetadata } from './vector-index.ts';
