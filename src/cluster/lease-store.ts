/** A lease as its holder sees it. */
export interface Lease {
  readonly key: string;
  readonly owner: string;
  /** The store's version of the lease (a KV revision): renewals and releases compare it. */
  readonly revision: number;
  /**
   * `performance.now()` until which the holder may act on it: the lease time after the write
   * was *sent*, less a safety margin, so the holder stops before the store could expire it.
   */
  readonly validUntil: number;
}

/** Who holds a key now, as the store says. */
export interface LeaseHolder {
  owner: string;
  revision: number;
}

/**
 * Leases with a time-to-live kept by the store itself (a JetStream KV bucket's max age), not
 * by any node's clock: a key is held by whoever created it, until it is released or not renewed
 * within the lease time. Taking and renewing are compare-and-set, so two nodes never both hold
 * a key. Adapters: memory (one process), NATS JetStream KV (a cluster).
 */
export interface LeaseStore {
  /** Lease time, ms. */
  readonly leaseMs: number;
  /** Takes `key` for `owner`; undefined when someone holds it. */
  acquire(key: string, owner: string): Promise<Lease | undefined>;
  /** Extends the lease. @throws LeaseLostError when it expired or changed hands. */
  renew(lease: Lease): Promise<Lease>;
  /** Gives the key up (only if still this lease); false when it was no longer held by it. */
  release(lease: Lease): Promise<boolean>;
  /** The current holder, or undefined. */
  holder(key: string): Promise<LeaseHolder | undefined>;
  /** Keys held now that start with `prefix`, with their holders. */
  list(prefix: string): Promise<Map<string, LeaseHolder>>;
  close(): Promise<void>;
}

/** Lease keys: one or more topic-token-safe segments joined by `.` (KV key rules). */
export const LEASE_KEY_PATTERN = /^[A-Za-z0-9_=-]+(\.[A-Za-z0-9_=-]+)*$/;
