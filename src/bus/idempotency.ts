import { BusClosedError } from './errors.ts';
import type { IdempotencyStore } from './transport.ts';

/** Ids a memory store keeps at most, whatever the window: senders choose ids, so they are bounded. */
export const MEMORY_IDEMPOTENCY_MAX_IDS = 100_000;

/**
 * Handled message ids kept in this process for `windowMs` (a Map in insertion order, so
 * expiry is a sweep from the front on each add — no timer per id), and at most `maxIds` of
 * them: past that the oldest are forgotten early (a redelivery of one of those would run
 * again). Stores made over one `seen` map (the memory transport's, per consumer name) share
 * their ids; closing one store leaves the others working.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly #seen: Map<string, number>;
  readonly #windowMs: number;
  readonly #maxIds: number;
  #closed = false;

  constructor(windowMs: number, seen: Map<string, number> = new Map(), maxIds = MEMORY_IDEMPOTENCY_MAX_IDS) {
    this.#windowMs = windowMs;
    this.#seen = seen;
    this.#maxIds = maxIds;
  }

  /** Ids held now. */
  get size(): number {
    return this.#seen.size;
  }

  async has(id: string): Promise<boolean> {
    if (this.#closed) throw new BusClosedError();
    const at = this.#seen.get(id);
    return at !== undefined && Date.now() - at < this.#windowMs;
  }

  async add(id: string): Promise<void> {
    if (this.#closed) throw new BusClosedError();
    const now = Date.now();
    for (const [key, at] of this.#seen) {
      if (now - at < this.#windowMs) break;
      this.#seen.delete(key);
    }
    this.#seen.delete(id);
    this.#seen.set(id, now);
    if (this.#seen.size > this.#maxIds) this.#seen.delete(this.#seen.keys().next().value!);
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
