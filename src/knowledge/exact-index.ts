import { AgentfleetError } from '../errors/index.ts';
import type { VectorFilter, VectorHit, VectorIndex, VectorMetadata } from './vector-index.ts';

/** A vector of the wrong length, or with values that are not finite. */
export class VectorInvalidError extends AgentfleetError {
  constructor(message: string, details: Record<string, unknown>) {
    super('VECTOR_INVALID', message, { details });
  }
}

/**
 * Exact search by normalised inner product over one contiguous `Float32Array` (rows packed,
 * deletes fill the hole with the last row), with a bounded min-heap for the top k.
 */
export class ExactIndex implements VectorIndex {
  readonly dimensions: number;
  #data: Float32Array;
  #ids: string[] = [];
  #metadata: VectorMetadata[] = [];
  readonly #slots = new Map<string, number>();

  constructor(dimensions: number, initialCapacity = 1024) {
    this.dimensions = dimensions;
    this.#data = new Float32Array(dimensions * initialCapacity);
  }

  get size(): number {
    return this.#ids.length;
  }

  upsert(id: string, vector: Float32Array, metadata: VectorMetadata): void {
    this.#check(vector);
    for (let i = 0; i < vector.length; i++) {
      if (!Number.isFinite(vector[i]!)) {
        throw new VectorInvalidError(`Value ${i} of the vector for "${id}" is not a finite number.`, {
          id,
          index: i,
        });
      }
    }
    let slot = this.#slots.get(id);
    if (slot === undefined) {
      slot = this.#ids.length;
      if ((slot + 1) * this.dimensions > this.#data.length) {
        const grown = new Float32Array(this.#data.length * 2);
        grown.set(this.#data);
        this.#data = grown;
      }
      this.#ids.push(id);
      this.#metadata.push(metadata);
      this.#slots.set(id, slot);
    } else this.#metadata[slot] = metadata;
    this.#data.set(vector, slot * this.dimensions);
  }

  delete(id: string): boolean {
    const slot = this.#slots.get(id);
    if (slot === undefined) return false;
    const last = this.#ids.length - 1;
    if (slot !== last) {
      const d = this.dimensions;
      this.#data.copyWithin(slot * d, last * d, (last + 1) * d);
      const movedId = this.#ids[last]!;
      this.#ids[slot] = movedId;
      this.#metadata[slot] = this.#metadata[last]!;
      this.#slots.set(movedId, slot);
    }
    this.#ids.pop();
    this.#metadata.pop();
    this.#slots.delete(id);
    return true;
  }

  search(query: Float32Array, k: number, filter?: VectorFilter): VectorHit[] {
    this.#check(query);
    if (k <= 0 || this.#ids.length === 0) return [];
    const d = this.dimensions;
    const data = this.#data;
    const scores = new Float64Array(k);
    const slots = new Int32Array(k);
    let count = 0;
    const entries = filter === undefined ? undefined : Object.entries(filter);
    for (let slot = 0; slot < this.#ids.length; slot++) {
      if (entries !== undefined && !matches(this.#metadata[slot]!, entries)) continue;
      const base = slot * d;
      let s = 0;
      for (let j = 0; j < d; j++) s += data[base + j]! * query[j]!;
      if (count < k) {
        heapPush(scores, slots, count++, s, slot);
      } else if (s > scores[0]!) {
        heapReplaceTop(scores, slots, count, s, slot);
      }
    }
    const hits: VectorHit[] = [];
    for (let i = 0; i < count; i++) {
      hits.push({ id: this.#ids[slots[i]!]!, score: scores[i]!, metadata: this.#metadata[slots[i]!]! });
    }
    return hits.sort((a, b) => b.score - a.score);
  }

  #check(vector: Float32Array): void {
    if (!(vector instanceof Float32Array) || vector.length !== this.dimensions) {
      throw new VectorInvalidError(
        `Expected a Float32Array of ${this.dimensions} values; got ${vector?.length ?? typeof vector}.`,
        { expected: this.dimensions, actual: vector?.length },
      );
    }
  }
}

function matches(metadata: VectorMetadata, entries: Array<[string, unknown]>): boolean {
  for (const [key, value] of entries) if (metadata[key] !== value) return false;
  return true;
}

/** Min-heap by score over parallel arrays: the root is the worst of the current top k. */
function heapPush(scores: Float64Array, slots: Int32Array, n: number, s: number, slot: number): void {
  let i = n;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (scores[parent]! <= s) break;
    scores[i] = scores[parent]!;
    slots[i] = slots[parent]!;
    i = parent;
  }
  scores[i] = s;
  slots[i] = slot;
}

function heapReplaceTop(scores: Float64Array, slots: Int32Array, n: number, s: number, slot: number): void {
  let i = 0;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= n) break;
    const right = left + 1;
    const child = right < n && scores[right]! < scores[left]! ? right : left;
    if (scores[child]! >= s) break;
    scores[i] = scores[child]!;
    slots[i] = slots[child]!;
    i = child;
  }
  scores[i] = s;
  slots[i] = slot;
}
