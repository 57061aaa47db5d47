import { withoutTenant } from '../context/index.ts';
import { AgentfleetError, InvalidOptionsError } from '../errors/index.ts';
import type { Lease, LeaseStore } from './lease-store.ts';

/** Options of `LeaseKeeper`. */
export interface LeaseKeeperOptions {
  store: LeaseStore;
  /** This node's id, recorded as the holder. */
  owner: string;
  /** How often held leases are renewed, ms. Default a third of the lease time. */
  renewEveryMs?: number;
  /** Leases renewed at once per round. Default 64. */
  concurrency?: number;
  /** Told when a held lease is lost (another node took it, or it ran out before a renewal got through). */
  onLost?: (key: string, why: 'taken' | 'expired') => void;
}

/**
 * The leases one node holds, renewed on one unref'd timer (no timer per lease). `holds(key)` is
 * true only while the lease is valid by this node's own monotonic clock — it stops before the
 * store could give the key to another node — so a node acts for a key only while it is the one
 * holder. A renewal that fails because the store is down is retried next round; the lease is
 * dropped (and `onLost` told) once its validity runs out.
 */
export class LeaseKeeper {
  readonly owner: string;
  readonly #store: LeaseStore;
  readonly #leases = new Map<string, Lease>();
  readonly #timer: NodeJS.Timeout;
  readonly #concurrency: number;
  readonly #onLost: LeaseKeeperOptions['onLost'];
  #renewing: Promise<void> | undefined;
  #closed = false;

  constructor(options: LeaseKeeperOptions) {
    if (typeof options?.owner !== 'string' || options.owner === '')
      throw new InvalidOptionsError('LeaseKeeper needs an owner (the node id).');
    this.owner = options.owner;
    this.#store = options.store;
    this.#concurrency = options.concurrency ?? 64;
    this.#onLost = options.onLost;
    const every = options.renewEveryMs ?? Math.max(10, Math.floor(options.store.leaseMs / 3));
    this.#timer = withoutTenant(() =>
      setInterval(() => {
        this.#renewing ??= this.renewAll().finally(() => {
          this.#renewing = undefined;
        });
      }, every),
    );
    this.#timer.unref();
  }

  /** Takes `key` and keeps it; false when another node holds it. True at once if this node already does. */
  async take(key: string): Promise<boolean> {
    if (this.#closed) return false;
    if (this.holds(key)) return true;
    const lease = await this.#store.acquire(key, this.owner);
    if (lease === undefined) return false;
    this.#leases.set(key, lease);
    return true;
  }

  /** True while this node holds `key` and its lease is still valid by its own clock. */
  holds(key: string): boolean {
    const lease = this.#leases.get(key);
    return lease !== undefined && lease.validUntil > performance.now();
  }

  /** The keys held (valid now). */
  held(): string[] {
    const now = performance.now();
    return [...this.#leases.values()].filter((l) => l.validUntil > now).map((l) => l.key);
  }

  /** Gives `key` up (after draining what it guards). */
  async give(key: string): Promise<void> {
    const lease = this.#leases.get(key);
    if (lease === undefined) return;
    this.#leases.delete(key);
    await this.#store.release(lease).catch(() => false);
  }

  /** Renews every held lease once (the timer calls it; tests may too). */
  async renewAll(): Promise<void> {
    const leases = [...this.#leases.values()];
    let next = 0;
    const worker = async () => {
      while (next < leases.length) await this.#renew(leases[next++] as Lease);
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, leases.length) }, worker));
  }

  async #renew(lease: Lease): Promise<void> {
    if (this.#leases.get(lease.key) !== lease) return; // given up meanwhile
    try {
      const renewed = await this.#store.renew(lease);
      if (this.#leases.get(lease.key) === lease) this.#leases.set(lease.key, renewed);
    } catch (error) {
      if (AgentfleetError.isInstance(error) && error.code === 'LEASE_LOST') return this.#lose(lease, 'taken');
      // The store is unreachable: keep the lease while it is valid, and try again next round.
      if (lease.validUntil <= performance.now()) this.#lose(lease, 'expired');
    }
  }

  #lose(lease: Lease, why: 'taken' | 'expired'): void {
    if (this.#leases.get(lease.key) !== lease) return;
    this.#leases.delete(lease.key);
    this.#onLost?.(lease.key, why);
  }

  /** Stops renewing and releases every lease (a clean leave). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#renewing;
    const leases = [...this.#leases.values()];
    this.#leases.clear();
    await Promise.all(leases.map((l) => this.#store.release(l).catch(() => false)));
  }

  /** Stops renewing without releasing (what a crash looks like to the others; for tests). */
  abandon(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#leases.clear();
  }
}
