/** What an index stores beside each vector; `tenant` is always present, so searches can be scoped. */
export interface VectorMetadata {
  tenant: string;
  [key: string]: string | number | boolean;
}

/** One search hit. */
export interface VectorHit {
  id: string;
  /** Inner product with the query (cosine similarity for normalised vectors). */
  score: number;
  metadata: VectorMetadata;
}

/** Only vectors whose metadata has these exact values. */
export type VectorFilter = Partial<Record<string, string | number | boolean>>;

/** A store of normalised vectors searched by inner product. */
export interface VectorIndex {
  readonly dimensions: number;
  readonly size: number;
  /** Adds or replaces the vector for `id`. */
  upsert(id: string, vector: Float32Array, metadata: VectorMetadata): void;
  /** Removes `id`; false when it was not there. */
  delete(id: string): boolean;
  /** The `k` best matches, best first, among vectors matching `filter`. */
  search(query: Float32Array, k: number, filter?: VectorFilter): VectorHit[];
  /** Releases threads or other resources the index holds. */
  close?(): Promise<void>;
}
