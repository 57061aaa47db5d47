import type { Bus, Envelope } from '../bus/index.ts';
import { withoutTenant } from '../context/index.ts';
import type { TenantAdmission } from '../core/index.ts';
import {
  type CrdtError,
  CrdtReplicator,
  type CrdtReplicatorStats,
  type SharedCrdt,
  type SharedKind,
} from '../crdt/index.ts';
import { InvalidOptionsError } from '../errors/index.ts';

/** A tenant's figures over the whole cluster. */
export interface ClusterTenantUsage {
  /** Agent records the tenant has in the cluster's directory (active anywhere or hibernated). */
  agents: number;
  /** Messages the tenant's agents handled, summed over every node since the counter began. */
  messages: number;
}

/** Options of `ClusterUsage.open`. */
export interface ClusterUsageOptions {
  bus: Bus;
  /** This process's replica id (unique per process: see `CrdtReplicator`'s `node`). */
  node: string;
  /** The replicator's name, the same on every node of the cluster (e.g. `agentfleet-usage`). */
  name: string;
  /** Says whether a tenant may have one more agent, given the cluster-wide count. */
  admission?: Pick<TenantAdmission, 'admitAgent'>;
  /** Milliseconds local message counts are batched before they are published. Default 250. */
  flushMs?: number;
  /** Deleted tenants whose generation is remembered (the oldest is forgotten past it). Default 100,000. */
  maxDeletedTenants?: number;
  /** Anti-entropy period of the replicator, ms. Default 2,000. */
  antiEntropyMs?: number;
  /** Told of every refused message (malformed, foreign, too large). */
  onInvalid?: (error: CrdtError, message: Envelope) => void;
}

/** `<what>.<tenant>.<generation>`: the generation is when the tenant was last deleted (0: never). */
const NAME = /^(agents|messages)\.([A-Za-z0-9_-]{1,64})\.(0|[1-9][0-9]{0,15})$/;
const KIND = { agents: 'pn-counter', messages: 'g-counter' } as const;

/**
 * Per-tenant usage counted across a cluster with CRDTs, so a quota reads the cluster's figure
 * and not one node's: a PN-Counter of agent records per tenant (up when a record is created,
 * down when one is removed, on whichever node does it) and a G-Counter of messages handled.
 * Every node holds every tenant's counters (a peer's delta or digest declares them here), so a
 * read is local and immediate; a change reaches the other nodes one bus hop later, and
 * anti-entropy repairs lost messages. The agent quota is therefore soft by that delay:
 * creates on two nodes at the same moment may both pass the last free place.
 * The counters live in the nodes' memory: a node that joins learns them from its peers' next
 * digests; a cluster restarted as a whole starts them at zero.
 *
 * Deleting a tenant drops its counters on every node. So that a late message of a peer cannot
 * bring them back, and a tenant made anew counts from zero, a tenant's counters carry a
 * generation in their names (the time of its last deletion, told to every node with the
 * deletion): counters of an older generation are refused, a newer one replaces them.
 */
export class ClusterUsage {
  readonly #replicator: CrdtReplicator;
  readonly #admission: Pick<TenantAdmission, 'admitAgent'> | undefined;
  readonly #flushMs: number;
  readonly #maxDeleted: number;
  /** Messages handled here and not yet published, per tenant. */
  readonly #pending = new Map<string, number>();
  /** Each deleted tenant's generation (when it was last deleted); a tenant never deleted has 0. */
  readonly #generations = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(replicator: CrdtReplicator, options: ClusterUsageOptions) {
    this.#replicator = replicator;
    this.#admission = options.admission;
    this.#flushMs = options.flushMs ?? 250;
    this.#maxDeleted = options.maxDeletedTenants ?? 100_000;
  }

  /** Opens the usage replicator (system scope). Throws `INVALID_OPTIONS` and the replicator's errors. */
  static async open(options: ClusterUsageOptions): Promise<ClusterUsage> {
    const flushMs = options.flushMs ?? 250;
    const maxDeleted = options.maxDeletedTenants ?? 100_000;
    if (!Number.isInteger(flushMs) || flushMs < 1 || flushMs > 60_000)
      throw new InvalidOptionsError(`ClusterUsage: flushMs must be 1-60,000 ms; got ${flushMs}.`);
    if (!Number.isInteger(maxDeleted) || maxDeleted < 1)
      throw new InvalidOptionsError(
        `ClusterUsage: maxDeletedTenants must be a positive integer; got ${maxDeleted}.`,
      );
    let usage: ClusterUsage | undefined;
    const replicator = await withoutTenant(() =>
      CrdtReplicator.open({
        bus: options.bus,
        node: options.node,
        name: options.name,
        maxObjects: 1_000_000, // two per tenant
        ...(options.antiEntropyMs === undefined ? {} : { antiEntropyMs: options.antiEntropyMs }),
        adopt: (name) => (usage === undefined ? undefined : usage.#kindOf(name)),
        ...(options.onInvalid === undefined ? {} : { onInvalid: options.onInvalid }),
      }),
    );
    usage = new ClusterUsage(replicator, options);
    return usage;
  }

  /** How many counters this node holds (two per tenant with figures). */
  get size(): number {
    return this.#replicator.names().length;
  }

  /** The counters' replicator figures (merged, refused, …). */
  stats(): CrdtReplicatorStats {
    return this.#replicator.stats();
  }

  /** The tenant's cluster-wide figures, as this node has them now. */
  of(tenant: string): ClusterTenantUsage {
    return {
      agents: this.#value(this.#name('agents', tenant)),
      messages: this.#value(this.#name('messages', tenant)) + (this.#pending.get(tenant) ?? 0),
    };
  }

  /** Throws the admission's refusal (`QUOTA_EXCEEDED`) when the tenant has no room for one more agent cluster-wide. */
  admitAgent(tenant: string): void {
    const refusal = this.#admission?.admitAgent(tenant, this.of(tenant).agents);
    if (refusal !== undefined) throw refusal;
  }

  /** One agent record of the tenant was created (on this node). */
  agentCreated(tenant: string): void {
    this.#change(tenant, 'agents', (c) => c.increment());
  }

  /** One agent record of the tenant was deleted (on this node). */
  agentRemoved(tenant: string): void {
    this.#change(tenant, 'agents', (c) => c.decrement());
  }

  /** One message of the tenant was handled here; published with others within `flushMs`. */
  messageHandled(tenant: string): void {
    if (this.#closed) return;
    this.#pending.set(tenant, (this.#pending.get(tenant) ?? 0) + 1);
    this.#timer ??= withoutTenant(() => setTimeout(() => this.flush(), this.#flushMs).unref());
  }

  /** Publishes the batched message counts now. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const [tenant, count] of this.#pending) {
      this.#pending.delete(tenant);
      this.#change(tenant, 'messages', (c) => c.increment(count));
    }
  }

  /**
   * Forgets the tenant's figures here (its deletion, told to every node with the same `at`,
   * ms since the epoch): its counters are dropped, and those of generations up to `at` are
   * refused from then on, so a tenant made anew counts from zero.
   */
  dropTenant(tenant: string, at: number): void {
    this.#pending.delete(tenant);
    this.#advance(tenant, Math.max(this.#generation(tenant), at));
  }

  /** Publishes what is batched and closes the replicator. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    await this.#replicator.close();
  }

  #value(name: string): number {
    return (this.#replicator.get(name)?.value() as number | undefined) ?? 0;
  }

  #generation(tenant: string): number {
    return this.#generations.get(tenant) ?? 0;
  }

  #name(which: keyof typeof KIND, tenant: string, generation = this.#generation(tenant)): string {
    return `${which}.${tenant}.${generation}`;
  }

  /** Moves the tenant to `generation` (newer than its own), dropping the counters of its old one. */
  #advance(tenant: string, generation: number): void {
    const old = this.#generation(tenant);
    this.#replicator.drop(this.#name('agents', tenant, old));
    this.#replicator.drop(this.#name('messages', tenant, old));
    this.#generations.delete(tenant); // re-inserted last: the oldest deletion is forgotten first
    this.#generations.set(tenant, generation);
    if (this.#generations.size > this.#maxDeleted) {
      const oldest = this.#generations.keys().next().value as string;
      this.#generations.delete(oldest);
    }
  }

  /** Applies `op` to the tenant's counter (declaring it), in the system scope the replicator belongs to; a no-op once closed. */
  #change<K extends keyof typeof KIND>(
    tenant: string,
    which: K,
    op: (counter: SharedCrdt<(typeof KIND)[K]>['crdt']) => SharedCrdt<(typeof KIND)[K]>['crdt'],
  ): void {
    if (this.#closed) return;
    withoutTenant(() => this.#replicator.crdt(this.#name(which, tenant), KIND[which]).update(op));
  }

  /**
   * The kind of a peer's usage counter, if `name` is one of the tenant's current generation;
   * a newer generation (a deletion this node missed) replaces the current one; an older is refused.
   */
  #kindOf(name: string): SharedKind | undefined {
    const match = NAME.exec(name);
    if (match === null) return undefined;
    const tenant = match[2] as string;
    const generation = Number(match[3]);
    const current = this.#generation(tenant);
    if (generation < current) return undefined;
    if (generation > current) {
      this.#pending.delete(tenant);
      this.#advance(tenant, generation);
    }
    return KIND[match[1] as keyof typeof KIND];
  }
}
