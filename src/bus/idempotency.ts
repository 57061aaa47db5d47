import type { IdempotencyStore } from './transport.ts';

/**
 * Handled message ids kept in this process for `windowMs` (a Map in insertion order, so
 * expiry is a sweep from the front on each add — no timer per id).
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly #seen = new Map<string, number>();
  readonly #windowMs: number;

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  async has(id: string): Promise<boolean> {
    const at = this.#seen.get(id);
    return at !== undefined && Date.now() - at < this.#windowMs;
  }

  async add(id: string): Promise<void> {
    const now = Date.now();
    for (const [key, at] of this.#seen) {
      if (now - at < this.#windowMs) break;
      this.#seen.delete(key);
    }
    this.#seen.delete(id);
    this.#seen.set(id, now);
  }

  async close(): Promise<void> {
    this.#seen.clear();
  }
}
