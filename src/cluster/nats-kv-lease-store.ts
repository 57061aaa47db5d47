import { JetStreamApiCodes, JetStreamApiError, jetstream } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { checkKvStoreOptions } from '../bus/index.ts';
import { InvalidOptionsError } from '../errors/index.ts';
import { LeaseLostError, LeaseStoreUnavailableError } from './errors.ts';
import type { Lease, LeaseHolder, LeaseStore } from './lease-store.ts';
import { checkLeaseKey } from './memory-lease-store.ts';

/** Options of `NatsKvLeaseStore.open`. */
export interface NatsKvLeaseStoreOptions {
  /** A connection to use (not closed by `close()`), or `servers` to connect to. */
  connection?: NatsConnection;
  servers?: string | string[];
  /** The bucket; its max age is the lease time. Default `agentfleet-leases`. */
  bucket?: string;
  /** Lease time, ms: a key not renewed for this long is free. Default 5,000. */
  leaseMs?: number;
  /** How much sooner than the lease time a holder stops trusting its lease, ms. Default a tenth of it. */
  marginMs?: number;
  /** Milliseconds one request may take. Default 2,000. */
  timeoutMs?: number;
  /** Replicas of the bucket's stream, 1 to 5 (3 on a cluster survives losing one server). Default 1. */
  replicas?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Leases in a JetStream KV bucket whose max age is the lease time (history 1): the server
 * expires a lease that is not renewed, so no node's clock decides it. Taking is a put that
 * expects the key's last revision (none, a delete, or an expired entry); renewing is an update
 * at the lease's revision; both fail for the loser of a race. A holder trusts its lease only
 * until `validUntil` (lease time after it *sent* the write, less a margin), so it gives up before
 * the server could hand the key to another node.
 */
export class NatsKvLeaseStore implements LeaseStore {
  readonly leaseMs: number;
  readonly #kv: KV;
  readonly #marginMs: number;
  readonly #owned: NatsConnection | undefined;

  private constructor(kv: KV, leaseMs: number, marginMs: number, owned: NatsConnection | undefined) {
    this.#kv = kv;
    this.leaseMs = leaseMs;
    this.#marginMs = marginMs;
    this.#owned = owned;
  }

  /**
   * Opens (creating if needed) the bucket. An existing bucket keeps its own lease time and replicas.
   * @throws InvalidOptionsError for bad options; `LEASE_STORE_UNAVAILABLE` when the bucket cannot be opened.
   */
  static async open(options: NatsKvLeaseStoreOptions): Promise<NatsKvLeaseStore> {
    const leaseMs = options.leaseMs ?? 5_000;
    const timeout = options.timeoutMs ?? 2_000;
    if (!Number.isInteger(leaseMs) || leaseMs < 100)
      throw new InvalidOptionsError(`leaseMs must be an integer of at least 100; got ${leaseMs}.`);
    const { bucket, replicas } = checkKvStoreOptions('NatsKvLeaseStore', options, {
      bucket: 'agentfleet-leases',
      timeoutMs: timeout,
    });
    let owned: NatsConnection | undefined;
    try {
      if (options.connection === undefined) owned = await connect({ servers: options.servers, timeout });
      const nc = options.connection ?? (owned as NatsConnection);
      const kv = await new Kvm(jetstream(nc, { timeout })).create(bucket, {
        ttl: leaseMs,
        history: 1,
        replicas,
      });
      const status = await kv.status();
      const effective = Math.round(status.ttl) || leaseMs;
      return new NatsKvLeaseStore(kv, effective, options.marginMs ?? Math.ceil(effective / 10), owned);
    } catch (error) {
      await owned?.close().catch(() => undefined);
      throw new LeaseStoreUnavailableError(`open the bucket ${bucket}`, { cause: error });
    }
  }

  async acquire(key: string, owner: string): Promise<Lease | undefined> {
    checkLeaseKey(key);
    const sentAt = performance.now();
    try {
      const entry = await this.#kv.get(key);
      if (entry !== null && entry.operation === 'PUT') return undefined;
      const revision = await this.#kv.put(key, encoder.encode(owner), { previousSeq: entry?.revision ?? 0 });
      return this.#lease(key, owner, revision, sentAt);
    } catch (error) {
      if (isCasConflict(error)) return undefined;
      throw new LeaseStoreUnavailableError(`take the lease on ${key}`, { cause: error });
    }
  }

  async renew(lease: Lease): Promise<Lease> {
    const sentAt = performance.now();
    try {
      const revision = await this.#kv.update(lease.key, encoder.encode(lease.owner), lease.revision);
      return this.#lease(lease.key, lease.owner, revision, sentAt);
    } catch (error) {
      if (isCasConflict(error)) throw new LeaseLostError(lease.key, 'it expired or another node took it');
      throw new LeaseStoreUnavailableError(`renew the lease on ${lease.key}`, { cause: error });
    }
  }

  async release(lease: Lease): Promise<boolean> {
    try {
      await this.#kv.delete(lease.key, { previousSeq: lease.revision });
      return true;
    } catch (error) {
      if (isCasConflict(error)) return false;
      throw new LeaseStoreUnavailableError(`release the lease on ${lease.key}`, { cause: error });
    }
  }

  async holder(key: string): Promise<LeaseHolder | undefined> {
    try {
      const entry = await this.#kv.get(key);
      return entry === null || entry.operation !== 'PUT'
        ? undefined
        : { owner: decoder.decode(entry.value), revision: entry.revision };
    } catch (error) {
      throw new LeaseStoreUnavailableError(`read the lease on ${key}`, { cause: error });
    }
  }

  async list(prefix: string): Promise<Map<string, LeaseHolder>> {
    const found = new Map<string, LeaseHolder>();
    try {
      const keys: string[] = [];
      for await (const key of await this.#kv.keys(prefix === '' ? '>' : `${prefix}>`)) keys.push(key);
      for (const key of keys) {
        const holder = await this.holder(key);
        if (holder !== undefined) found.set(key, holder);
      }
      return found;
    } catch (error) {
      if (error instanceof LeaseStoreUnavailableError) throw error;
      throw new LeaseStoreUnavailableError(`list the leases under ${prefix}`, { cause: error });
    }
  }

  async close(): Promise<void> {
    await this.#owned?.close();
  }

  #lease(key: string, owner: string, revision: number, sentAt: number): Lease {
    return { key, owner, revision, validUntil: sentAt + this.leaseMs - this.#marginMs };
  }
}

function isCasConflict(error: unknown): boolean {
  return (
    error instanceof JetStreamApiError &&
    (error.code === JetStreamApiCodes.StreamWrongLastSequence ||
      error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}
