export { type Embedder, HashingEmbedder, type HashingEmbedderOptions } from './embedder.ts';
export { ExactIndex, VectorInvalidError } from './exact-index.ts';
export type { VectorFilter, VectorHit, VectorIndex, VectorMetadata } from './vector-index.ts';
