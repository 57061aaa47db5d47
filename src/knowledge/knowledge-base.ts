import { z } from 'zod';
import { AgentfleetError, formatIssues } from '../errors/index.ts';
import { TENANT_ID_PATTERN } from '../tenancy/context.ts';
import { type Chunk, type ChunkOptions, chunkText } from './chunker.ts';
import { DocumentLog, keyOf, type StoredDocument } from './document-log.ts';
import { type Embedder, HashingEmbedder } from './embedder.ts';
import { ExactIndex } from './exact-index.ts';
import type { VectorIndex } from './vector-index.ts';

/** A document or query the knowledge base cannot take (empty, too large, bad ids). */
export class KnowledgeInvalidError extends AgentfleetError {
  constructor(problems: string[]) {
    super('KNOWLEDGE_INVALID', `Invalid knowledge input: ${problems.join('; ')}`, { details: { problems } });
  }
}

/** A retrieved passage, with what a citation needs. */
export interface Passage {
  documentId: string;
  /** 0-based chunk number in the document. */
  chunk: number;
  text: string;
  score: number;
}

/** Options of `KnowledgeBase.open`. */
export interface KnowledgeBaseOptions {
  /** Default: a 768-dimension `HashingEmbedder`. */
  embedder?: Embedder;
  /** Where documents persist (snapshot + append log). Default: memory only. */
  directory?: string;
  chunking?: ChunkOptions;
  /** Largest document, in characters. Default 1,000,000. */
  maxDocumentChars?: number;
  /** Default: an `ExactIndex` of the embedder's dimensions. */
  index?: VectorIndex;
}

const documentSchema = z.strictObject({
  id: z.string().min(1).max(256),
  tenant: z.string().regex(TENANT_ID_PATTERN, 'must be a tenant id'),
  text: z.string().refine((t) => t.trim().length > 0, 'must not be empty'),
  metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
});
export type KnowledgeDocument = z.input<typeof documentSchema>;

/**
 * Documents chunked, embedded and indexed per tenant, for retrieval with citations. Upserts and
 * deletes by document id (so a change log can drive it); with a `directory` every acknowledged
 * change survives a crash, and the base reloads (re-embedding) on open.
 */
export class KnowledgeBase {
  readonly embedder: Embedder;
  readonly #index: VectorIndex;
  readonly #documents: Map<string, StoredDocument>;
  readonly #chunks = new Map<string, number>();
  readonly #log: DocumentLog | undefined;
  readonly #chunking: ChunkOptions;
  readonly #maxChars: number;

  private constructor(
    options: KnowledgeBaseOptions,
    documents: Map<string, StoredDocument>,
    log: DocumentLog | undefined,
  ) {
    this.embedder = options.embedder ?? new HashingEmbedder();
    this.#index = options.index ?? new ExactIndex(this.embedder.dimensions);
    this.#documents = documents;
    this.#log = log;
    this.#chunking = options.chunking ?? {};
    this.#maxChars = options.maxDocumentChars ?? 1_000_000;
  }

  /** Opens a knowledge base, loading and indexing what its directory holds. */
  static async open(options: KnowledgeBaseOptions = {}): Promise<KnowledgeBase> {
    const loaded = options.directory === undefined ? undefined : await DocumentLog.open(options.directory);
    const kb = new KnowledgeBase(options, loaded?.documents ?? new Map(), loaded?.log);
    for (const doc of kb.#documents.values()) kb.#apply(doc, await kb.#prepare(doc));
    return kb;
  }

  /** Documents held. */
  get size(): number {
    return this.#documents.size;
  }

  /**
   * Adds or replaces a document (by tenant and id); resolves once it is searchable and, with
   * a directory, on disk. @throws KnowledgeInvalidError
   */
  async upsert(input: KnowledgeDocument): Promise<{ chunks: number }> {
    const parsed = documentSchema.safeParse(input);
    if (!parsed.success) throw new KnowledgeInvalidError(formatIssues(parsed.error));
    const doc = parsed.data;
    if (doc.text.length > this.#maxChars) {
      throw new KnowledgeInvalidError([
        `text: ${doc.text.length} characters; the limit is ${this.#maxChars}`,
      ]);
    }
    // Embed first: a document the embedder refuses is neither stored nor half-indexed.
    const prepared = await this.#prepare(doc);
    await this.#log?.upsert(doc);
    this.#unindex(doc.tenant, doc.id);
    this.#documents.set(keyOf(doc.tenant, doc.id), doc);
    this.#apply(doc, prepared);
    return { chunks: prepared.chunks.length };
  }

  /** Deletes a document; false when the tenant has none with that id. */
  async delete(tenant: string, id: string): Promise<boolean> {
    const key = keyOf(tenant, id);
    if (!this.#documents.has(key)) return false;
    await this.#log?.delete(tenant, id);
    this.#unindex(tenant, id);
    this.#documents.delete(key);
    return true;
  }

  /** The `k` best passages of the tenant's documents for `query`. @throws KnowledgeInvalidError for an empty query. */
  async search(tenant: string, query: string, k = 5): Promise<Passage[]> {
    if (query.trim().length === 0) throw new KnowledgeInvalidError(['query: must not be empty']);
    const [vector] = await this.embedder.embed([query]);
    return this.#index.search(vector!, k, { tenant }).map((hit) => ({
      documentId: String(hit.metadata.documentId),
      chunk: Number(hit.metadata.chunk),
      text: String(hit.metadata.text),
      score: hit.score,
    }));
  }

  /** Rewrites the snapshot and empties the log (no-op in memory). */
  async compact(): Promise<void> {
    await this.#log?.compact(this.#documents.values());
  }

  async close(): Promise<void> {
    await this.#log?.close();
  }

  async #prepare(doc: StoredDocument): Promise<{ chunks: Chunk[]; vectors: Float32Array[] }> {
    const chunks = chunkText(doc.text, this.#chunking);
    return { chunks, vectors: await this.embedder.embed(chunks.map((c) => c.text)) };
  }

  #apply(doc: StoredDocument, { chunks, vectors }: { chunks: Chunk[]; vectors: Float32Array[] }): void {
    for (const c of chunks) {
      this.#index.upsert(`${keyOf(doc.tenant, doc.id)}#${c.index}`, vectors[c.index]!, {
        ...doc.metadata,
        tenant: doc.tenant,
        documentId: doc.id,
        chunk: c.index,
        text: c.text,
      });
    }
    this.#chunks.set(keyOf(doc.tenant, doc.id), chunks.length);
  }

  #unindex(tenant: string, id: string): void {
    const key = keyOf(tenant, id);
    const n = this.#chunks.get(key) ?? 0;
    for (let i = 0; i < n; i++) this.#index.delete(`${key}#${i}`);
    this.#chunks.delete(key);
  }
}
