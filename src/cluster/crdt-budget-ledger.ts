import type { BudgetLedger, Spend } from '../budgets/index.ts';
import type { Bus, Envelope } from '../bus/index.ts';
import { withoutTenant } from '../context/index.ts';
import { type CrdtError, CrdtReplicator, type CrdtReplicatorStats } from '../crdt/index.ts';

/** Options of `CrdtBudgetLedger.open`. */
export interface CrdtBudgetLedgerOptions {
  bus: Bus;
  /** This process's replica id (unique per process). */
  node: string;
  /** The replicator's name, the same on every node (e.g. `agentfleet-budgets`). */
  name: string;
  /** The clock that says which periods ended, ms since the epoch. Default `Date.now`. */
  now?: () => number;
  /** Anti-entropy period of the replicator, ms. Default 2,000. */
  antiEntropyMs?: number;
  /** Told of every refused message (malformed, of an ended period, too large). */
  onInvalid?: (error: CrdtError, message: Envelope) => void;
}

/** `<t|a>.<tenant>[.<agent>].<periodSeconds>.<period index>.<tok|cost>` (see `TokenBudgetGate`). */
const NAME = /^([ta])\.([A-Za-z0-9_-]{1,64})\.(?:.+\.)?([1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,15})\.(tok|cost)$/;
/** Milliseconds between sweeps of ended periods. */
const SWEEP_EVERY_MS = 60_000;

/**
 * Budget spending shared by a cluster: per key (a tenant or agent in one period) a G-Counter of
 * tokens and one of cost micro-units, replicated over the bus by a `CrdtReplicator` (system
 * scope), adopted by every node, so a gate reads the cluster's figure and not its own. A node's
 * spending reaches the others one bus hop later (anti-entropy repairs lost messages): a budget
 * is soft by that delay and by calls in flight on other nodes (reservations stay per node).
 * Counters of ended periods are refused from peers and swept here once a minute.
 */
export class CrdtBudgetLedger implements BudgetLedger {
  readonly #replicator: CrdtReplicator;
  readonly #now: () => number;
  #nextSweep = 0;
  #closed = false;

  private constructor(replicator: CrdtReplicator, now: () => number) {
    this.#replicator = replicator;
    this.#now = now;
  }

  /** Opens the ledger's replicator (system scope). Throws the replicator's errors. */
  static async open(options: CrdtBudgetLedgerOptions): Promise<CrdtBudgetLedger> {
    const now = options.now ?? Date.now;
    const replicator = await withoutTenant(() =>
      CrdtReplicator.open({
        bus: options.bus,
        node: options.node,
        name: options.name,
        maxObjects: 1_000_000,
        ...(options.antiEntropyMs === undefined ? {} : { antiEntropyMs: options.antiEntropyMs }),
        adopt: (name) => (endOf(name) > now() ? 'g-counter' : undefined),
        ...(options.onInvalid === undefined ? {} : { onInvalid: options.onInvalid }),
      }),
    );
    return new CrdtBudgetLedger(replicator, now);
  }

  /** The replicator's figures (merged, refused, …). */
  stats(): CrdtReplicatorStats {
    return this.#replicator.stats();
  }

  /** Counters held here (two per key). */
  get size(): number {
    return this.#replicator.names().length;
  }

  spent(key: string): Spend {
    return { tokens: this.#value(`${key}.tok`), costMicros: this.#value(`${key}.cost`) };
  }

  add(key: string, _endsAt: number, tokens: number, costMicros: number): void {
    if (this.#closed) return;
    this.#sweep();
    withoutTenant(() => {
      if (tokens > 0) this.#replicator.crdt(`${key}.tok`, 'g-counter').update((c) => c.increment(tokens));
      if (costMicros > 0)
        this.#replicator.crdt(`${key}.cost`, 'g-counter').update((c) => c.increment(costMicros));
    });
  }

  dropTenant(tenant: string): void {
    for (const name of this.#replicator.names())
      if (name.startsWith(`t.${tenant}.`) || name.startsWith(`a.${tenant}.`)) this.#replicator.drop(name);
  }

  /** Closes the replicator. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#replicator.close();
  }

  #value(name: string): number {
    return (this.#replicator.get(name)?.value() as number | undefined) ?? 0;
  }

  #sweep(): void {
    const now = this.#now();
    if (now < this.#nextSweep) return;
    this.#nextSweep = now + SWEEP_EVERY_MS;
    for (const name of this.#replicator.names()) if (endOf(name) <= now) this.#replicator.drop(name);
  }
}

/** When the period of a counter's name ends (ms since the epoch); 0 for a name that is not one. */
function endOf(name: string): number {
  const match = NAME.exec(name);
  if (match === null) return 0;
  return (Number(match[4]) + 1) * Number(match[3]) * 1000;
}
