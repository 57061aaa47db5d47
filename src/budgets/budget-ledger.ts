/** What was spent under one key: tokens, and cost in micro-units (millionths of the price unit). */
export interface Spend {
  tokens: number;
  costMicros: number;
}

/**
 * Where a budget gate keeps what was spent, per key (a tenant or an agent in one period): in
 * this process (`MemoryBudgetLedger`) or shared by a cluster (`CrdtBudgetLedger`). Reads are
 * synchronous, so the gate costs no wait on the model call's path.
 */
export interface BudgetLedger {
  /** What was spent under `key` so far (zero for a key never seen). */
  spent(key: string): Spend;
  /** Adds to `key`; `endsAt` (ms since the epoch) is when its period ends and it may be forgotten. */
  add(key: string, endsAt: number, tokens: number, costMicros: number): void;
  /** Forgets every key of a tenant (its deletion) here. */
  dropTenant(tenant: string): void;
  close(): Promise<void>;
}

interface Entry extends Spend {
  endsAt: number;
}

/** Milliseconds between sweeps of ended periods. */
const SWEEP_EVERY_MS = 60_000;

/** A ledger in this process's memory; keys of ended periods are swept once a minute, on a write. */
export class MemoryBudgetLedger implements BudgetLedger {
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;
  #nextSweep = 0;

  /** `now`: the clock (ms since the epoch) that says which periods ended. Default `Date.now`. */
  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** Keys held (for tests and figures). */
  get size(): number {
    return this.#entries.size;
  }

  spent(key: string): Spend {
    return this.#entries.get(key) ?? ZERO;
  }

  add(key: string, endsAt: number, tokens: number, costMicros: number): void {
    const entry = this.#entries.get(key);
    if (entry !== undefined) {
      entry.tokens += tokens;
      entry.costMicros += costMicros;
      return;
    }
    this.#sweep();
    this.#entries.set(key, { tokens, costMicros, endsAt });
  }

  dropTenant(tenant: string): void {
    for (const key of this.#entries.keys()) if (tenantOfKey(key) === tenant) this.#entries.delete(key);
  }

  async close(): Promise<void> {
    this.#entries.clear();
  }

  #sweep(): void {
    const now = this.#now();
    if (now < this.#nextSweep) return;
    this.#nextSweep = now + SWEEP_EVERY_MS;
    for (const [key, entry] of this.#entries) if (entry.endsAt <= now) this.#entries.delete(key);
  }
}

const ZERO: Spend = Object.freeze({ tokens: 0, costMicros: 0 });

/** The tenant of a ledger key (`t.<tenant>.…` or `a.<tenant>.…`). */
export function tenantOfKey(key: string): string | undefined {
  const end = key.indexOf('.', 2);
  return end < 0 ? undefined : key.slice(2, end);
}
