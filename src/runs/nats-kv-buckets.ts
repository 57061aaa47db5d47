import { JetStreamApiCodes, JetStreamApiError, type JetStreamManager, jetstream } from '@nats-io/jetstream';
import { type KV, type KvEntry, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { fromKvToken, rowKey } from './nats-kv-keys.ts';

/** The NATS KV run store's buckets: runs (headers and their events), approvals, conversations. */
export type Kind = 'runs' | 'approvals' | 'conversations';

/** A row's place: its KV key, tenant ('' for none) and id. */
export interface RowRef {
  key: string;
  tenant: string;
  id: string;
}

/** Concurrent gets when reading many rows (the client multiplexes them on one connection). */
const BATCH = 64;

/** The place of `<tenant>.<id>`. */
export function rowRef(tenant: string, id: string): RowRef {
  return { key: rowKey(tenant, id), tenant, id };
}

/** A stored value: not missing, not a delete marker, not a reservation (an empty value). */
export function live(entry: KvEntry | null): entry is KvEntry {
  return entry !== null && entry.operation === 'PUT' && entry.length > 0;
}

/**
 * The JetStream calls of the NATS KV run store, on its three buckets (history 1): gets and
 * compare-and-set puts through KV, key listing and subject purges through the stream API (a
 * purge leaves no delete marker behind, so deleted rows cost nothing afterwards). Every call is
 * bounded by the client's request timeout.
 */
export class RunBuckets {
  readonly #kv: Record<Kind, KV>;
  readonly #names: Record<Kind, string>;
  readonly #jsm: JetStreamManager;

  private constructor(kv: Record<Kind, KV>, names: Record<Kind, string>, jsm: JetStreamManager) {
    this.#kv = kv;
    this.#names = names;
    this.#jsm = jsm;
  }

  /** Opens the buckets, creating the missing ones; `timeout` ms bounds every request. */
  static async open(
    nc: NatsConnection,
    names: Record<Kind, string>,
    options: { timeout: number; replicas: number },
  ): Promise<RunBuckets> {
    const js = jetstream(nc, { timeout: options.timeout });
    const kvm = new Kvm(js);
    const bucket = (name: string) => kvm.create(name, { history: 1, replicas: options.replicas });
    const [runs, approvals, conversations] = await Promise.all([
      bucket(names.runs),
      bucket(names.approvals),
      bucket(names.conversations),
    ]);
    const jsm = await js.jetstreamManager(false);
    return new RunBuckets({ runs, approvals, conversations }, names, jsm);
  }

  get(kind: Kind, key: string): Promise<KvEntry | null> {
    return this.#kv[kind].get(key);
  }

  async put(kind: Kind, key: string, value: string): Promise<void> {
    await this.#kv[kind].put(key, value);
  }

  /** Puts `value` only if the key's last revision is `revision` (0: the key has none); false if not. */
  async cas(kind: Kind, key: string, value: Uint8Array | string, revision: number): Promise<boolean> {
    try {
      await this.#kv[kind].put(key, value, { previousSeq: revision });
      return true;
    } catch (error) {
      if (
        error instanceof JetStreamApiError &&
        (error.code === JetStreamApiCodes.StreamWrongLastSequence ||
          error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
      )
        return false;
      throw error;
    }
  }

  /**
   * The tokens of every key matching `filter` (a KV key with `*`/`>` wildcards): one stream-info
   * request per 100,000 keys (the server's page), holding only the key names.
   */
  async keys(kind: Kind, filter: string): Promise<string[][]> {
    const prefix = `$KV.${this.#names[kind]}.`;
    const info = await this.#jsm.streams.info(`KV_${this.#names[kind]}`, {
      subjects_filter: `${prefix}${filter}`,
    });
    return Object.keys(info.state.subjects ?? {}).map((s) => s.slice(prefix.length).split('.'));
  }

  /** Every `<tenant>.<id>` row of a bucket, of every tenant, oldest id first. */
  async allRows(kind: Kind): Promise<RowRef[]> {
    return (await this.keys(kind, '*.*'))
      .map((tokens) => rowRef(fromKvToken(tokens[0] as string), fromKvToken(tokens[1] as string)))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * Reads the keys of `rows` in order, 64 at a time, and gives each live one to `visit` (its
   * value as text) until `visit` returns false.
   */
  async scan<R extends { key: string }>(
    kind: Kind,
    rows: readonly R[],
    visit: (value: string, row: R) => boolean | Promise<boolean>,
  ): Promise<void> {
    for (let i = 0; i < rows.length; i += BATCH) {
      const batch = rows.slice(i, i + BATCH);
      const entries = await Promise.all(batch.map((r) => this.#kv[kind].get(r.key)));
      for (const [j, entry] of entries.entries())
        if (live(entry) && !(await visit(entry.string(), batch[j] as R))) return;
    }
  }

  /** Reads `rows` in order, keeping the values `keep` accepts, until `limit` are found. */
  async page<T, R extends { key: string }>(
    kind: Kind,
    rows: readonly R[],
    limit: number,
    read: (value: string, row: R) => T,
    keep: (value: T) => boolean,
  ): Promise<T[]> {
    const found: T[] = [];
    if (limit > 0)
      await this.scan(kind, rows, (text, row) => {
        const value = read(text, row);
        if (keep(value)) found.push(value);
        return found.length < limit;
      });
    return found;
  }

  /** Purges every key matching `filter` from the bucket's stream; how many it removed. */
  async purge(kind: Kind, filter: string): Promise<number> {
    const name = this.#names[kind];
    return (await this.#jsm.streams.purge(`KV_${name}`, { filter: `$KV.${name}.${filter}` })).purged;
  }
}
