import { z } from 'zod';
import { AgentfleetError, parseOptions } from '../errors/index.ts';
import type { KnowledgeErrorCode } from './error-codes.ts';
import { scanExact, selectExact } from './simd/exact-scan.ts';
import { VectorRows } from './simd/vector-rows.ts';
import type { TopK } from './top-k.ts';
import type { VectorFilter, VectorHit, VectorIndex, VectorMetadata } from './vector-index.ts';

/** A vector of the wrong length, or with values that are not finite. */
export class VectorInvalidError extends AgentfleetError<KnowledgeErrorCode> {
  constructor(message: string, details: Record<string, unknown>) {
    super('VECTOR_INVALID', message, { details });
  }
}

const optionsSchema = z.strictObject({
  initialCapacity: z.number().int().min(1).default(1024),
  /**
   * Threads a full scan is split across, counting the caller's. Each extra one is a worker
   * thread that shares the vectors' memory; scans of fewer than 16,384 rows stay on the caller.
   */
  threads: z.number().int().min(1).max(64).default(1),
});

/** Options of `ExactIndex`. */
export type ExactIndexOptions = z.input<typeof optionsSchema>;

/** Queries scanned together by `searchBatch`: each int8 row is read once per block. */
const BATCH_BLOCK = 8;

/**
 * Exact top-k by inner product. Rows are scanned as int8 with WebAssembly SIMD; each approximate
 * score carries a proven error bound, and every row whose bound could reach the top k is
 * re-scored in float64 from its float32 values — so results equal a full float scan's, while
 * most of the scan reads a quarter of the bytes. Deletes fill the hole with the last row.
 */
export class ExactIndex implements VectorIndex {
  readonly dimensions: number;
  readonly #rows: VectorRows;
  #ids: string[] = [];
  #metadata: VectorMetadata[] = [];
  readonly #slots = new Map<string, number>();

  constructor(dimensions: number, options: ExactIndexOptions = {}) {
    const { initialCapacity = 1024, threads = 1 } = parseOptions('ExactIndex', optionsSchema, options);
    this.dimensions = dimensions;
    this.#rows = new VectorRows(dimensions, { initialCapacity, threads });
  }

  /** Scan worker threads alive (`threads - 1` until `close()`). */
  get scanThreads(): number {
    return this.#rows.scanThreads;
  }

  /** Stops the scan threads (a no-op with one thread); later searches run on the caller. */
  close(): Promise<void> {
    return this.#rows.close();
  }

  get size(): number {
    return this.#ids.length;
  }

  /** Bytes of vector data per stored vector (float32 + int8 + bounds; ids and metadata extra). */
  get bytesPerVector(): number {
    return this.#rows.bytesPerRow;
  }

  upsert(id: string, vector: Float32Array, metadata: VectorMetadata): void {
    checkVector(vector, this.dimensions, id);
    const slot = this.#slots.get(id);
    if (slot === undefined) {
      this.#slots.set(id, this.#rows.push(vector));
      this.#ids.push(id);
      this.#metadata.push(metadata);
    } else {
      this.#rows.set(slot, vector);
      this.#metadata[slot] = metadata;
    }
  }

  delete(id: string): boolean {
    const slot = this.#slots.get(id);
    if (slot === undefined) return false;
    const last = this.#ids.length - 1;
    if (slot !== last) {
      this.#rows.move(last, slot);
      const movedId = this.#ids[last]!;
      this.#ids[slot] = movedId;
      this.#metadata[slot] = this.#metadata[last]!;
      this.#slots.set(movedId, slot);
    }
    this.#rows.pop();
    this.#ids.pop();
    this.#metadata.pop();
    this.#slots.delete(id);
    return true;
  }

  search(query: Float32Array, k: number, filter?: VectorFilter): VectorHit[] {
    checkVector(query, this.dimensions);
    if (k <= 0 || this.size === 0) return [];
    return this.#hits(scanExact(this.#rows, query, k, this.#accept(filter)));
  }

  /** `search` for many queries at once; faster per query, as each row is read once per block of queries. */
  searchBatch(queries: readonly Float32Array[], k: number, filter?: VectorFilter): VectorHit[][] {
    for (const q of queries) checkVector(q, this.dimensions);
    if (k <= 0 || this.size === 0) return queries.map(() => []);
    const rows = this.#rows;
    const n = this.size;
    const results: VectorHit[][] = [];
    const accept = this.#accept(filter);
    for (let start = 0; start < queries.length; start += BATCH_BLOCK) {
      const block = queries.slice(start, start + BATCH_BLOCK);
      const out = rows.reserve(block.length, n * block.length);
      const prepared = block.map((q, slot) => rows.prepare(q, slot));
      rows.scanMulti(block.length, out);
      for (let j = 0; j < block.length; j++) {
        const best = selectExact(rows, block[j]!, prepared[j]!, k, accept, (out >> 2) + j, block.length);
        results.push(this.#hits(best));
      }
    }
    return results;
  }

  #hits(best: TopK): VectorHit[] {
    return best.sorted().map(({ score, item }) => ({
      id: this.#ids[item]!,
      score,
      metadata: this.#metadata[item]!,
    }));
  }

  #accept(filter: VectorFilter | undefined): ((row: number) => boolean) | undefined {
    if (filter === undefined) return undefined;
    const entries = Object.entries(filter);
    const metadata = this.#metadata;
    return (row) => matches(metadata[row]!, entries);
  }
}

/** @throws VectorInvalidError unless `vector` is a Float32Array of `dimensions` finite values. */
export function checkVector(vector: Float32Array, dimensions: number, id?: string): void {
  if (!(vector instanceof Float32Array) || vector.length !== dimensions) {
    throw new VectorInvalidError(
      `Expected a Float32Array of ${dimensions} values; got ${vector?.length ?? typeof vector}.`,
      { expected: dimensions, actual: vector?.length },
    );
  }
  for (let i = 0; i < vector.length; i++) {
    if (!Number.isFinite(vector[i]!)) {
      throw new VectorInvalidError(
        `Value ${i} of the vector${id === undefined ? '' : ` for "${id}"`} is not a finite number.`,
        { id, index: i },
      );
    }
  }
}

function matches(metadata: VectorMetadata, entries: Array<[string, unknown]>): boolean {
  for (const [key, value] of entries) if (metadata[key] !== value) return false;
  return true;
}
