import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { crc32 } from 'node:zlib';
import { z } from 'zod';
import { TENANT_ID_PATTERN } from '../context/index.ts';
import {
  AbortedError,
  AgentfleetError,
  formatIssues,
  InvalidOptionsError,
  parseOptions,
} from '../errors/index.ts';
import type { Embedder } from '../llm/index.ts';
import { type Chunk, type ChunkOptions, chunkText } from './chunker.ts';
import {
  DocumentLog,
  keyOf,
  type LogEntry,
  type StorageStats,
  type StoredDocument,
  type StoredRecord,
  type StoredVectors,
} from './document-log.ts';
import { HashingEmbedder } from './embedder.ts';
import type { KnowledgeErrorCode } from './error-codes.ts';
import { checkVector, ExactIndex } from './exact-index.ts';
import { HnswGraphStore } from './hnsw-graph-file.ts';
import { HnswIndex } from './hnsw-index.ts';
import { tenantOfKey } from './store-records.ts';
import { KnowledgeQuotaExceededError, TenantUsage } from './tenant-usage.ts';
import type { VectorIndex } from './vector-index.ts';

/** A document or query the knowledge base cannot take (empty, too large, bad ids). */
export class KnowledgeInvalidError extends AgentfleetError<KnowledgeErrorCode> {
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
  /** Default: a 768-dimension `HashingEmbedder`. Give it an `id` so its vectors are stored. */
  embedder?: Embedder;
  /** Where documents persist (snapshot + append log). Default: memory only. */
  directory?: string;
  chunking?: ChunkOptions;
  /** Largest document, in characters. Default 1,000,000. */
  maxDocumentChars?: number;
  /** Documents one tenant may hold; more is `QUOTA_EXCEEDED`. Default 10,000. */
  maxDocumentsPerTenant?: number;
  /**
   * UTF-8 bytes of document text one tenant may hold (its vectors take about 5× that in
   * memory with 768 dimensions); more is `QUOTA_EXCEEDED`. Default 16 MiB.
   */
  maxBytesPerTenant?: number;
  /**
   * With a directory: the store compacts by itself once its files exceed this multiple of the
   * live documents' records (and the log holds `compactionMinBytes`), so repeated upserts
   * take at most about `compactionRatio + 1` times the live data on disk. Default 2.
   */
  compactionRatio?: number;
  /** Bytes the log holds before it is compacted automatically. Default 4 MiB. */
  compactionMinBytes?: number;
  /**
   * `exact` (default: an `ExactIndex` per tenant, every search exact), `hnsw` (an `HnswIndex`
   * per tenant: faster on large bases, recall below 1), or one index of the embedder's
   * dimensions that all tenants share, each search filtered by tenant.
   */
  index?: VectorIndex | 'exact' | 'hnsw';
}

/** A document of this many chunks or more is prepared in steps with the event loop running between. */
const LARGE_CHUNKS = 64;

const limitsSchema = z.strictObject({
  maxDocumentChars: z.number().int().min(1).default(1_000_000),
  maxDocumentsPerTenant: z.number().int().min(1).default(10_000),
  maxBytesPerTenant: z
    .number()
    .int()
    .min(1)
    .default(16 * 1024 * 1024),
  compactionRatio: z.number().gt(1).default(2),
  compactionMinBytes: z
    .number()
    .int()
    .min(0)
    .default(4 * 1024 * 1024),
});
type Limits = z.output<typeof limitsSchema>;

const documentSchema = z.strictObject({
  id: z.string().min(1).max(256),
  tenant: z.string().regex(TENANT_ID_PATTERN, 'must be a tenant id'),
  text: z.string().refine((t) => t.trim().length > 0, 'must not be empty'),
  metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
});
export type KnowledgeDocument = z.input<typeof documentSchema>;

interface Prepared {
  chunks: Chunk[];
  vectors: Float32Array[];
}

/**
 * Documents chunked, embedded and indexed per tenant, for retrieval with citations. Upserts and
 * deletes by document id (so a change log can drive it); with a `directory` every acknowledged
 * change survives a crash, with its chunk vectors when the embedder has an `id`. On open a
 * document's stored vectors are used when they were made by the same embedder id for the same
 * chunks; other documents are re-embedded, and their new vectors held until `compact()` writes them.
 * The store compacts itself (bounded disk use), is locked to one base at a time, and checksums
 * every record. Each tenant's documents are within `maxDocumentsPerTenant` and `maxBytesPerTenant`.
 */
export class KnowledgeBase {
  readonly embedder: Embedder;
  /** An index passed in: every tenant's vectors, each search filtered by tenant. */
  readonly #shared: VectorIndex | undefined;
  readonly #kind: 'exact' | 'hnsw';
  /** Otherwise one index per tenant, made here: a search costs what its tenant holds. */
  readonly #indexes = new Map<string, VectorIndex>();
  readonly #documents: Map<string, StoredDocument>;
  readonly #chunks = new Map<string, number>();
  /** Vectors re-embedded on open that the disk does not have yet; `compact()` writes them. */
  readonly #unsaved = new Map<string, StoredRecord>();
  #log: DocumentLog | undefined;
  /** The saved HNSW graphs (kind `hnsw` with a directory): restored on open, saved on compact and close. */
  #graphs: HnswGraphStore | undefined;
  readonly #chunking: ChunkOptions;
  readonly #limits: Limits;
  /** Documents and bytes per tenant once every queued change is written: what quotas check. */
  readonly #usage = new TenantUsage();
  /** The embedder made here (the default), closed with the base. */
  readonly #ownsEmbedder: boolean;
  #autoCompaction: Promise<void> | undefined;

  private constructor(options: KnowledgeBaseOptions) {
    const { embedder, directory: _d, chunking, index: indexOption, ...limits } = options;
    this.#limits = parseOptions('knowledge base', limitsSchema, limits);
    this.#ownsEmbedder = embedder === undefined;
    this.embedder = embedder ?? new HashingEmbedder();
    const index = indexOption ?? 'exact';
    this.#kind = typeof index === 'string' ? index : 'exact';
    this.#shared = typeof index === 'string' ? undefined : checkIndex(index, this.embedder.dimensions);
    this.#documents = new Map();
    this.#chunking = chunking ?? {};
  }

  /**
   * Opens a knowledge base, loading and indexing what its directory holds (with the stored
   * vectors where they fit, re-embedding the rest). A store written by an earlier version
   * (no checksums) is rewritten in the current format.
   * @throws KnowledgeStoreLockedError while another base (any process) has the directory open
   * @throws KnowledgeStoreCorruptError with `details` {file, line, offset, hint} for damage
   * @throws InvalidOptionsError
   */
  static async open(options: KnowledgeBaseOptions = {}): Promise<KnowledgeBase> {
    const kb = new KnowledgeBase(options);
    if (options.directory === undefined) return kb;
    const toEmbed = new Set<string>();
    const { compactionRatio: ratio, compactionMinBytes: minBytes } = kb.#limits;
    if (kb.#kind === 'hnsw' && kb.#shared === undefined) {
      const identity = { dimensions: kb.embedder.dimensions, embedder: kb.embedder.id ?? '' };
      kb.#graphs = await HnswGraphStore.open(options.directory, identity);
    }
    try {
      kb.#log = await DocumentLog.open(options.directory, (entry) => kb.#replay(entry, toEmbed), {
        ratio,
        minBytes,
      });
      for (const key of toEmbed) {
        const doc = kb.#documents.get(key)!;
        const prepared = await kb.#prepare(doc);
        kb.#apply(doc, prepared);
        const vectors = kb.#stored(prepared);
        if (vectors !== undefined) kb.#unsaved.set(key, { doc, vectors });
      }
      kb.#graphs?.finish(); // every stored vector is back: graph nodes that got none are dropped
      if (kb.#log.stale) await kb.compact(); // an older format, or a deleted tenant's text left by a crash
    } catch (error) {
      kb.#graphs = undefined; // a half-replayed store has no graph worth saving
      await kb.close();
      throw error;
    }
    return kb;
  }

  /** Documents held. */
  get size(): number {
    return this.#documents.size;
  }

  /** Bytes in the store's files (zeros in memory), for operators and the amplification bound. */
  get storage(): StorageStats {
    return this.#log?.stats ?? { snapshotBytes: 0, logBytes: 0, liveBytes: 0, compactions: 0 };
  }

  /**
   * Adds or replaces a document (by tenant and id); resolves once it is searchable and, with
   * a directory, on disk. @throws KnowledgeInvalidError, KnowledgeQuotaExceededError (`QUOTA_EXCEEDED`)
   */
  async upsert(input: KnowledgeDocument): Promise<{ chunks: number }> {
    const parsed = documentSchema.safeParse(input);
    if (!parsed.success) throw new KnowledgeInvalidError(formatIssues(parsed.error));
    const doc = parsed.data;
    const { maxDocumentChars } = this.#limits;
    if (doc.text.length > maxDocumentChars) {
      throw new KnowledgeInvalidError([
        `text: ${doc.text.length} characters; the limit is ${maxDocumentChars}`,
      ]);
    }
    const bytes = Buffer.byteLength(doc.text);
    this.#checkQuota(doc, bytes); // before embedding, so a tenant at its quota costs no work
    // Embed first: a document the embedder refuses is neither stored nor half-indexed.
    const prepared = await this.#prepare(doc);
    const key = keyOf(doc.tenant, doc.id);
    // Checked again and counted as the write is queued: concurrent upserts cannot pass together.
    const before = this.#checkQuota(doc, bytes);
    this.#usage.set(doc.tenant, doc.id, bytes);
    // Before the write is queued, so a compaction queued after it cannot write the older record.
    this.#unsaved.delete(key);
    try {
      await this.#log?.upsert({ doc, vectors: this.#stored(prepared) });
    } catch (error) {
      if (this.#usage.sizeOf(doc.tenant, doc.id) === bytes) this.#usage.set(doc.tenant, doc.id, before);
      throw error;
    }
    this.#unindex(key);
    this.#documents.set(key, doc);
    this.#apply(doc, prepared);
    this.#maybeCompact();
    return { chunks: prepared.chunks.length };
  }

  /** Deletes a document; false when the tenant has none with that id. */
  async delete(tenant: string, id: string): Promise<boolean> {
    const key = keyOf(tenant, id);
    if (!this.#documents.has(key)) return false;
    this.#unsaved.delete(key); // before the write is queued, as in upsert
    const before = this.#usage.sizeOf(tenant, id);
    this.#usage.set(tenant, id, undefined);
    try {
      await this.#log?.delete(tenant, id);
    } catch (error) {
      if (this.#usage.sizeOf(tenant, id) === undefined) this.#usage.set(tenant, id, before);
      throw error;
    }
    this.#unindex(key);
    this.#documents.delete(key);
    this.#maybeCompact();
    return true;
  }

  /**
   * Deletes every document of a tenant, from memory, the index and disk: a durable deletion
   * record, then a compaction, after which the tenant's text is in no file of the store. A
   * signal aborted before the call changes nothing; once called, the record is written, and an
   * abort stops only the compaction: the documents are deleted, their text stays on disk until
   * the next compaction (on the next open at the latest; calling this again finishes it).
   * Returns how many documents were deleted. @throws KnowledgeInvalidError, AbortedError
   */
  async deleteTenant(
    tenantId: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<{ documents: number }> {
    if (!TENANT_ID_PATTERN.test(tenantId)) throw new KnowledgeInvalidError(['tenant: must be a tenant id']);
    const { signal } = options;
    if (signal?.aborted) throw new AbortedError();
    for (const key of this.#unsaved.keys()) if (tenantOfKey(key) === tenantId) this.#unsaved.delete(key);
    this.#usage.dropTenant(tenantId);
    await this.#log?.deleteTenant(tenantId);
    let documents = 0;
    for (const [key, doc] of this.#documents) {
      if (doc.tenant !== tenantId) continue;
      this.#unindex(key);
      this.#documents.delete(key);
      documents++;
    }
    await this.compact({ signal });
    return { documents };
  }

  /** The `k` best passages of the tenant's documents for `query`. @throws KnowledgeInvalidError for an empty query. */
  async search(tenant: string, query: string, k = 5): Promise<Passage[]> {
    if (query.trim().length === 0) throw new KnowledgeInvalidError(['query: must not be empty']);
    const [vector] = await this.embedder.embed([query]);
    return this.searchVector(tenant, vector!, k);
  }

  /**
   * The `k` best passages for a vector the caller embedded (same embedder and dimensions).
   * @throws VectorInvalidError for a vector of the wrong length or with non-finite values.
   */
  searchVector(tenant: string, vector: Float32Array, k = 5): Passage[] {
    const index = this.#indexFor(tenant, false);
    if (index === undefined) {
      checkVector(vector, this.embedder.dimensions);
      return [];
    }
    return index.search(vector, k, { tenant }).map((hit) => ({
      documentId: String(hit.metadata.documentId),
      chunk: Number(hit.metadata.chunk),
      text: String(hit.metadata.text),
      score: hit.score,
    }));
  }

  /**
   * Rewrites the snapshot, with the vectors re-embedded on open, and empties the log (no-op in
   * memory). The snapshot is merged from the files line by line, not built in memory. The
   * store also does this by itself (see `compactionRatio`). @throws AbortedError
   */
  async compact(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#log === undefined) return;
    // Taken as the compaction is queued: a change queued earlier has removed its entry already.
    const written = new Map(this.#unsaved);
    await this.#log.compact(written, options.signal);
    for (const [key, record] of written) if (this.#unsaved.get(key) === record) this.#unsaved.delete(key);
    await this.#graphs?.save(this.#indexes);
  }

  /**
   * Waits for queued writes and a running compaction, then closes the log (releasing the
   * directory's lock), the indexes the base made (an index passed in is the caller's) and the
   * default embedder's thread.
   */
  async close(): Promise<void> {
    await this.#autoCompaction;
    // Saved while the directory's lock is still held; a second close must not save emptied indexes.
    await this.#graphs?.save(this.#indexes);
    this.#graphs = undefined;
    await this.#log?.close();
    this.#log = undefined;
    await Promise.all([...this.#indexes.values()].map((index) => index.close?.()));
    this.#indexes.clear();
    if (this.#ownsEmbedder) await this.embedder.close?.();
  }

  /** Queues a compaction when the store's files have outgrown the live data (see `compactionRatio`). */
  #maybeCompact(): void {
    const log = this.#log;
    if (log === undefined || this.#autoCompaction !== undefined || !log.wantsCompaction) return;
    this.#autoCompaction = this.compact()
      .catch((error: unknown) => log.compactionFailed(error))
      .finally(() => {
        this.#autoCompaction = undefined;
      });
  }

  /**
   * Refuses an upsert that would take the tenant past a quota (a replacement that does not
   * grow is always allowed); returns the document's current size.
   */
  #checkQuota(doc: StoredDocument, bytes: number): number | undefined {
    const { maxDocumentsPerTenant, maxBytesPerTenant } = this.#limits;
    const before = this.#usage.sizeOf(doc.tenant, doc.id);
    const documents = this.#usage.documents(doc.tenant) + (before === undefined ? 1 : 0);
    if (before === undefined && documents > maxDocumentsPerTenant) {
      throw new KnowledgeQuotaExceededError(
        doc.tenant,
        'maxDocumentsPerTenant',
        maxDocumentsPerTenant,
        documents,
      );
    }
    const total = this.#usage.bytes(doc.tenant) - (before ?? 0) + bytes;
    if (bytes > (before ?? 0) && total > maxBytesPerTenant) {
      throw new KnowledgeQuotaExceededError(doc.tenant, 'maxBytesPerTenant', maxBytesPerTenant, total);
    }
    return before;
  }

  #indexFor(tenant: string, create: boolean): VectorIndex | undefined {
    if (this.#shared !== undefined) return this.#shared;
    let index = this.#indexes.get(tenant);
    if (index === undefined && create) {
      index =
        this.#kind === 'hnsw'
          ? (this.#graphs?.take(tenant) ?? new HnswIndex(this.embedder.dimensions))
          : new ExactIndex(this.embedder.dimensions);
      this.#indexes.set(tenant, index);
    }
    return index;
  }

  /**
   * Chunks and embeds a document. A large one lets the event loop run between the steps, so
   * other tenants' requests interleave with it (the embedding itself may be on a thread).
   */
  async #prepare(doc: StoredDocument): Promise<Prepared> {
    const chunks = chunkText(doc.text, this.#chunking);
    const large = chunks.length >= LARGE_CHUNKS;
    if (large) await yieldToLoop();
    const vectors = await this.embedder.embed(chunks.map((c) => c.text));
    if (large) await yieldToLoop();
    return { chunks, vectors };
  }

  /** One change read back from disk: indexed with its stored vectors, or queued in `toEmbed`. */
  #replay(entry: LogEntry, toEmbed: Set<string>): void {
    if (entry.op === 'deleteTenant') {
      for (const id of this.#usage.ids(entry.tenant))
        this.#replay({ op: 'delete', tenant: entry.tenant, id }, toEmbed);
      return;
    }
    const key = entry.op === 'upsert' ? keyOf(entry.doc.tenant, entry.doc.id) : keyOf(entry.tenant, entry.id);
    this.#unindex(key);
    toEmbed.delete(key);
    if (entry.op === 'delete') {
      this.#documents.delete(key);
      this.#usage.set(entry.tenant, entry.id, undefined);
      return;
    }
    const doc = entry.doc;
    this.#documents.set(key, doc);
    this.#usage.set(doc.tenant, doc.id, Buffer.byteLength(doc.text));
    const chunks = chunkText(doc.text, this.#chunking);
    const v = entry.vectors;
    const id = this.embedder.id;
    if (
      v !== undefined &&
      id !== undefined &&
      v.embedder === id &&
      v.dimensions === this.embedder.dimensions &&
      v.chunks === chunks.length &&
      v.chunking === chunkingFingerprint(chunks)
    ) {
      const d = v.dimensions;
      const vectors = chunks.map((c) => v.data.subarray(c.index * d, (c.index + 1) * d));
      this.#apply(doc, { chunks, vectors });
    } else toEmbed.add(key);
  }

  /** What the log stores of `prepared`: nothing when the embedder has no id. */
  #stored({ chunks, vectors }: Prepared): StoredVectors | undefined {
    const id = this.embedder.id;
    if (this.#log === undefined || id === undefined) return undefined;
    const d = this.embedder.dimensions;
    const data = new Float32Array(chunks.length * d);
    for (let i = 0; i < chunks.length; i++) data.set(vectors[i]!, i * d);
    return {
      embedder: id,
      chunking: chunkingFingerprint(chunks),
      dimensions: d,
      chunks: chunks.length,
      data,
    };
  }

  #apply(doc: StoredDocument, { chunks, vectors }: Prepared): void {
    const index = this.#indexFor(doc.tenant, true)!;
    for (const c of chunks) {
      index.upsert(`${keyOf(doc.tenant, doc.id)}#${c.index}`, vectors[c.index]!, {
        ...doc.metadata,
        tenant: doc.tenant,
        documentId: doc.id,
        chunk: c.index,
        text: c.text,
      });
    }
    this.#chunks.set(keyOf(doc.tenant, doc.id), chunks.length);
  }

  #unindex(key: string): void {
    const n = this.#chunks.get(key) ?? 0;
    this.#chunks.delete(key);
    if (n === 0) return;
    const tenant = tenantOfKey(key);
    const index = this.#indexFor(tenant, false)!;
    for (let i = 0; i < n; i++) index.delete(`${key}#${i}`);
    if (index !== this.#shared && index.size === 0) {
      this.#indexes.delete(tenant);
      void index.close?.();
    }
  }
}

/**
 * Identifies how a document was chunked, from the chunk texts themselves: stored vectors are
 * reused only for the very chunks they embed, whatever changed the chunking (options, defaults
 * or the chunker).
 */
function chunkingFingerprint(chunks: readonly Chunk[]): string {
  let crc = 0;
  for (const c of chunks) crc = crc32('\u0000', crc32(c.text, crc));
  return `crc32:${crc.toString(16).padStart(8, '0')}`;
}

function checkIndex(index: VectorIndex, dimensions: number): VectorIndex {
  if (index.dimensions !== dimensions) {
    throw new InvalidOptionsError(
      `The index holds ${index.dimensions}-dimension vectors but the embedder makes ${dimensions}.`,
    );
  }
  return index;
}
