/** Options of `Embedder.embed`. */
export interface EmbedOptions {
  /** Aborts the call: it rejects with `ABORTED` (a batch already sent to a vendor is not cancelled there). */
  signal?: AbortSignal;
}

/**
 * Turns texts into vectors: the one embeddings contract, for the offline `HashingEmbedder`
 * (knowledge/) and provider embeddings (`createEmbeddings`). Vectors are L2-normalised, so
 * inner product is cosine similarity.
 */
export interface Embedder {
  /** Length of every vector. */
  readonly dimensions: number;
  /**
   * Identifies the model and every setting that changes its vectors (e.g.
   * `openai:text-embedding-3-small:512`). A knowledge base stores vectors on disk with this id
   * and reuses them on reload only under the same id; change it whenever the vectors would
   * change. Without an id, nothing is stored and every document is re-embedded on each open.
   */
  readonly id?: string;
  /** One vector per text, in order. */
  embed(texts: readonly string[], options?: EmbedOptions): Promise<Float32Array[]>;
  /** Frees what the embedder holds (threads, connections). */
  close?(): Promise<void>;
}
