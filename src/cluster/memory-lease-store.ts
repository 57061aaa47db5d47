import { InvalidOptionsError } from '../errors/index.ts';
import { LeaseLostError } from './errors.ts';
import { LEASE_KEY_PATTERN, type Lease, type LeaseHolder, type LeaseStore } from './lease-store.ts';

interface Held {
  owner: string;
  revision: number;
  expiresAt: number;
}

/** Leases in this process (one node, or tests); `clock` is injectable. */
export class MemoryLeaseStore implements LeaseStore {
  readonly leaseMs: number;
  readonly #held = new Map<string, Held>();
  readonly #clock: () => number;
  readonly #marginMs: number;
  #revision = 0;

  constructor(options: { leaseMs: number; clock?: () => number; marginMs?: number }) {
    if (!Number.isInteger(options?.leaseMs) || options.leaseMs < 10)
      throw new InvalidOptionsError('leaseMs must be an integer of at least 10.');
    this.leaseMs = options.leaseMs;
    this.#clock = options.clock ?? (() => performance.now());
    this.#marginMs = options.marginMs ?? Math.ceil(options.leaseMs / 10);
  }

  async acquire(key: string, owner: string): Promise<Lease | undefined> {
    checkKey(key);
    const now = this.#clock();
    const held = this.#live(key, now);
    if (held !== undefined) return undefined;
    return this.#write(key, owner, now);
  }

  async renew(lease: Lease): Promise<Lease> {
    const now = this.#clock();
    const held = this.#live(lease.key, now);
    if (held === undefined || held.revision !== lease.revision || held.owner !== lease.owner)
      throw new LeaseLostError(lease.key, held === undefined ? 'it expired' : 'another holder has it');
    return this.#write(lease.key, lease.owner, now);
  }

  async release(lease: Lease): Promise<boolean> {
    const held = this.#live(lease.key, this.#clock());
    if (held === undefined || held.revision !== lease.revision) return false;
    this.#held.delete(lease.key);
    return true;
  }

  async holder(key: string): Promise<LeaseHolder | undefined> {
    const held = this.#live(key, this.#clock());
    return held === undefined ? undefined : { owner: held.owner, revision: held.revision };
  }

  async list(prefix: string): Promise<Map<string, LeaseHolder>> {
    const now = this.#clock();
    const found = new Map<string, LeaseHolder>();
    for (const key of [...this.#held.keys()]) {
      const held = key.startsWith(prefix) ? this.#live(key, now) : undefined;
      if (held !== undefined) found.set(key, { owner: held.owner, revision: held.revision });
    }
    return found;
  }

  async close(): Promise<void> {
    this.#held.clear();
  }

  #live(key: string, now: number): Held | undefined {
    const held = this.#held.get(key);
    if (held !== undefined && held.expiresAt <= now) {
      this.#held.delete(key);
      return undefined;
    }
    return held;
  }

  #write(key: string, owner: string, now: number): Lease {
    const revision = ++this.#revision;
    this.#held.set(key, { owner, revision, expiresAt: now + this.leaseMs });
    return { key, owner, revision, validUntil: now + this.leaseMs - this.#marginMs };
  }
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length > 255 || !LEASE_KEY_PATTERN.test(key))
    throw new InvalidOptionsError(
      `A lease key is dot-separated tokens of A-Z, a-z, 0-9, _, = or -; got ${JSON.stringify(key)}.`,
    );
}

export { checkKey as checkLeaseKey };
