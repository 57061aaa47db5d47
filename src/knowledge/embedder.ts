import { AbortedError } from '../errors/index.ts';
import type { Embedder, EmbedOptions } from '../llm/index.ts';
import { EmbedWorker } from './embed-worker.ts';

/** Options of `HashingEmbedder`. */
export interface HashingEmbedderOptions {
  /** Vector length. Default 768. */
  dimensions?: number;
  /** Character n-gram sizes for non-CJK words. Default [3, 4]. */
  charNgrams?: number[];
  /**
   * A batch of at least this many characters is embedded on a worker thread, so a large
   * document (about 300 ms of hashing per MB) does not block the event loop for every other
   * request. Default 32,768; `Infinity` keeps every batch on the calling thread.
   */
  offloadChars?: number;
}

const CJK = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]/u;
const TOKEN = /[\p{L}\p{N}]+/gu;

/** 32-bit FNV-1a of a string, for feature hashing. */
function fnv1a(text: string, seed: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * A real offline embedder that needs no model: feature hashing (signed, so collisions cancel
 * rather than add up) over words, word bigrams and character n-grams. CJK text, which has no
 * spaces, is taken as character unigrams and bigrams. Deterministic: the same text always
 * gives the same vector, on every machine.
 */
export class HashingEmbedder implements Embedder {
  readonly dimensions: number;
  /** `hashing:v1:<dimensions>:<n-gram sizes>`; the version changes with how features are hashed. */
  readonly id: string;
  readonly #ngrams: number[];
  readonly #offloadChars: number;
  #worker: EmbedWorker | undefined;

  constructor(options: HashingEmbedderOptions = {}) {
    this.dimensions = options.dimensions ?? 768;
    this.#ngrams = options.charNgrams ?? [3, 4];
    this.#offloadChars = options.offloadChars ?? 32_768;
    if (!Number.isInteger(this.dimensions) || this.dimensions < 8 || this.dimensions > 65_536) {
      throw new RangeError(`dimensions must be an integer from 8 to 65,536; got ${this.dimensions}.`);
    }
    if (!(this.#offloadChars >= 0)) {
      throw new RangeError(`offloadChars must be a number ≥ 0 (or Infinity); got ${this.#offloadChars}.`);
    }
    this.id = `hashing:v1:${this.dimensions}:${this.#ngrams.join(',')}`;
  }

  /** Worker threads running (0 or 1): one is started by the first batch at or over `offloadChars`. */
  get threads(): number {
    return this.#worker?.running ?? 0;
  }

  /** One vector per text: on the calling thread, or for a large batch on the worker thread. */
  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    if (options.signal?.aborted)
      throw new AbortedError('The embedding call was aborted.', { cause: options.signal.reason });
    let chars = 0;
    for (const t of texts) chars += t.length;
    if (chars < this.#offloadChars) return texts.map((t) => this.embedOne(t));
    this.#worker ??= new EmbedWorker({ dimensions: this.dimensions, charNgrams: this.#ngrams });
    return this.#worker.embed(texts, options.signal);
  }

  /** Ends the worker thread, if one was started; a later large batch starts another. */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    await worker?.close();
  }

  /** The vector of one text, synchronously. */
  embedOne(text: string): Float32Array {
    const v = new Float32Array(this.dimensions);
    const add = (feature: string, weight: number) => {
      const h = fnv1a(feature, 0);
      v[h % this.dimensions]! += (h & 0x80000000) === 0 ? weight : -weight;
    };
    let previous: string | undefined;
    for (const match of text.toLowerCase().normalize('NFKC').matchAll(TOKEN)) {
      const word = match[0];
      if (CJK.test(word)) {
        // Split CJK runs into characters and character bigrams; keep embedded Latin words whole.
        const chars = [...word];
        for (let i = 0; i < chars.length; i++) {
          add(`c:${chars[i]}`, 1);
          if (i + 1 < chars.length) add(`b:${chars[i]}${chars[i + 1]}`, 1.5);
        }
        previous = undefined;
        continue;
      }
      add(`w:${word}`, 2);
      if (previous !== undefined) add(`p:${previous} ${word}`, 1);
      previous = word;
      const padded = `<${word}>`;
      for (const n of this.#ngrams) {
        for (let i = 0; i + n <= padded.length; i++) add(`g:${padded.slice(i, i + n)}`, 0.5);
      }
    }
    let norm = 0;
    for (let i = 0; i < v.length; i++) norm += v[i]! * v[i]!;
    if (norm > 0) {
      const scale = 1 / Math.sqrt(norm);
      for (let i = 0; i < v.length; i++) v[i]! *= scale;
    }
    return v;
  }
}
