import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { checkKvStoreOptions, isLiveKvEntry, listKvKeys } from '../bus/index.ts';
import { openKvBucket } from '../bus/internal.ts';
import { AgentfleetError } from '../errors/index.ts';
import { recordInvalid, storeUnavailable } from './errors.ts';
import {
  fromKeyToken,
  keyToken,
  type RolloutRecord,
  rolloutKey,
  rolloutRecordSchema,
  type StepStats,
  stepStatsSchema,
} from './rollout-record.ts';
import type { RolloutStore, RolloutWatchHandlers, StoredRollout } from './rollout-store.ts';

/** Options of `NatsKvRolloutStore.open`. */
export interface NatsKvRolloutStoreOptions {
  /** A connection to use (not closed by `close()`). Give this or `servers`. */
  connection?: NatsConnection;
  /** Servers to connect to (the store owns that connection and closes it). */
  servers?: string | string[];
  /** The bucket (history 1, no max age). Default `agentfleet-rollouts`. */
  bucket?: string;
  /** Milliseconds one request may take (and a key listing may go without progress). Default 2,000. */
  timeoutMs?: number;
  /** Replicas of the bucket's stream (on a NATS cluster), when it is created. Default 1. */
  replicas?: number;
}

/**
 * Rollouts in a JetStream KV bucket (history 1): a record per tenant and definition at
 * `r.<tenant>.<definition>`, written with the revision it expects (the stream sequence), and each
 * node's stats of a window at `s.<tenant>.<definition>.<stepId>.<node>`. Values are JSON, checked
 * on the way in (a damaged or foreign one is `ROLLOUT_RECORD_INVALID`). Failures to reach the
 * server are `ROLLOUT_STORE_UNAVAILABLE` with the client's error as cause.
 */
export class NatsKvRolloutStore implements RolloutStore {
  /** The bucket's name. */
  readonly bucket: string;
  readonly #kv: KV;
  readonly #nc: NatsConnection;
  readonly #owned: boolean;
  readonly #timeoutMs: number;
  readonly #watches = new Set<{ close(): Promise<void> }>();
  #closed = false;

  private constructor(bucket: string, kv: KV, nc: NatsConnection, owned: boolean, timeoutMs: number) {
    this.bucket = bucket;
    this.#kv = kv;
    this.#nc = nc;
    this.#owned = owned;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Opens (creating if needed) the bucket.
   * @throws InvalidOptionsError for bad options; `ROLLOUT_STORE_UNAVAILABLE` when the server
   * cannot be reached or the bucket not opened.
   */
  static async open(options: NatsKvRolloutStoreOptions): Promise<NatsKvRolloutStore> {
    const { bucket, timeout, replicas } = checkKvStoreOptions('NatsKvRolloutStore', options, {
      bucket: 'agentfleet-rollouts',
      timeoutMs: 2_000,
      needsTarget: true,
    });
    const { kv, nc, owned } = await openKvBucket(options, bucket, { timeout, replicas }, storeUnavailable);
    return new NatsKvRolloutStore(bucket, kv, nc, owned, timeout);
  }

  async get(tenant: string, definition: string): Promise<StoredRollout | undefined> {
    const key = recordKey(tenant, definition);
    return this.#call('read a rollout', async () => {
      const entry = await this.#kv.get(key);
      return isLiveKvEntry(entry)
        ? { record: decodeRecord(key, entry.string()), revision: entry.revision }
        : undefined;
    });
  }

  async put(record: RolloutRecord, expected: number): Promise<number | undefined> {
    const key = recordKey(record.tenant, record.definition);
    const value = JSON.stringify(record);
    return this.#call('write a rollout', async () => {
      let previousSeq = expected;
      if (expected === 0) {
        const entry = await this.#kv.get(key);
        previousSeq = entry?.revision ?? 0; // after a delete marker, its revision
        if (isLiveKvEntry(entry)) return undefined;
      }
      try {
        return await this.#kv.put(key, value, { previousSeq });
      } catch (error) {
        if (isCasConflict(error)) return undefined;
        throw error;
      }
    });
  }

  async list(tenant?: string): Promise<StoredRollout[]> {
    return this.#call('list rollouts', async () => {
      const filter = tenant === undefined ? 'r.>' : `r.${keyToken(tenant)}.*`;
      const found: StoredRollout[] = [];
      for (const key of await listKvKeys(this.#kv, filter, this.#timeoutMs)) {
        const entry = await this.#kv.get(key);
        if (isLiveKvEntry(entry))
          found.push({ record: decodeRecord(key, entry.string()), revision: entry.revision });
      }
      return found;
    });
  }

  async delete(tenant: string, definition: string): Promise<boolean> {
    const key = recordKey(tenant, definition);
    return this.#call('delete a rollout', async () => {
      await this.#purge(`s.${rolloutKey(tenant, definition)}.>`);
      if (!isLiveKvEntry(await this.#kv.get(key))) return false;
      await this.#kv.purge(key);
      return true;
    });
  }

  async purgeTenant(tenant: string): Promise<number> {
    return this.#call('delete a tenant’s rollouts', async () => {
      await this.#purge(`s.${keyToken(tenant)}.>`);
      return this.#purge(`r.${keyToken(tenant)}.*`);
    });
  }

  async putStats(
    tenant: string,
    definition: string,
    stepId: string,
    node: string,
    stats: StepStats,
  ): Promise<void> {
    const key = `s.${rolloutKey(tenant, definition)}.${stepId}.${node}`;
    await this.#call('write rollout stats', () => this.#kv.put(key, JSON.stringify(stats)));
  }

  async stats(tenant: string, definition: string, stepId: string): Promise<Map<string, StepStats>> {
    return this.#call('read rollout stats', async () => {
      const found = new Map<string, StepStats>();
      const keys = await listKvKeys(
        this.#kv,
        `s.${rolloutKey(tenant, definition)}.${stepId}.*`,
        this.#timeoutMs,
      );
      for (const key of keys) {
        const entry = await this.#kv.get(key);
        if (!isLiveKvEntry(entry)) continue;
        const parsed = stepStatsSchema.safeParse(safeJson(entry.string()));
        if (!parsed.success) throw recordInvalid(key, 'the stats are not of the rollout stats shape');
        found.set(key.slice(key.lastIndexOf('.') + 1), parsed.data);
      }
      return found;
    });
  }

  async dropStats(tenant: string, definition: string, stepId?: string): Promise<void> {
    const prefix = `s.${rolloutKey(tenant, definition)}`;
    await this.#call('delete rollout stats', () =>
      this.#purge(stepId === undefined ? `${prefix}.>` : `${prefix}.${stepId}.*`),
    );
  }

  async watch(handlers: RolloutWatchHandlers): Promise<{ close(): Promise<void> }> {
    const iter = await this.#call('watch rollouts', () => this.#kv.watch({ key: 'r.>' }));
    const loop = (async () => {
      for await (const entry of iter) {
        try {
          const [tenant, definition] = parseRecordKey(entry.key);
          handlers.change({
            tenant,
            definition,
            stored: isLiveKvEntry(entry)
              ? { record: decodeRecord(entry.key, entry.string()), revision: entry.revision }
              : undefined,
          });
        } catch (error) {
          handlers.invalid?.(error as Error);
        }
      }
    })().catch(() => undefined);
    const watch = {
      close: async () => {
        this.#watches.delete(watch);
        iter.stop();
        await loop;
      },
    };
    this.#watches.add(watch);
    return watch;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#watches].map((w) => w.close()));
    if (this.#owned) await this.#nc.close().catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Purges every key under `filter`; how many. */
  async #purge(filter: string): Promise<number> {
    const keys = await listKvKeys(this.#kv, filter, this.#timeoutMs);
    for (const key of keys) await this.#kv.purge(key);
    return keys.length;
  }

  async #call<T>(what: string, work: () => Promise<T>): Promise<T> {
    if (this.#closed) throw storeUnavailable(`${what}: it is closed`);
    try {
      return await work();
    } catch (error) {
      if (AgentfleetError.isInstance(error)) throw error;
      throw storeUnavailable(what, error);
    }
  }
}

const recordKey = (tenant: string, definition: string) => `r.${rolloutKey(tenant, definition)}`;

function parseRecordKey(key: string): [string, string] {
  const parts = key.split('.');
  const tenant = parts.length === 3 && parts[0] === 'r' ? fromKeyToken(parts[1]!) : undefined;
  const definition = tenant === undefined ? undefined : fromKeyToken(parts[2]!);
  if (tenant === undefined || definition === undefined)
    throw recordInvalid(key, 'the key is not r.<tenant>.<definition>');
  return [tenant, definition];
}

/** A stored record, checked: of the record's shape, and of the tenant and definition its key names. */
function decodeRecord(key: string, text: string): RolloutRecord {
  const parsed = rolloutRecordSchema.safeParse(safeJson(text));
  if (!parsed.success) throw recordInvalid(key, 'the value is not a rollout record');
  if (recordKey(parsed.data.tenant, parsed.data.definition) !== key)
    throw recordInvalid(key, 'it is the record of another tenant or definition');
  return parsed.data;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isCasConflict(error: unknown): boolean {
  return (
    error instanceof JetStreamApiError &&
    (error.code === JetStreamApiCodes.StreamWrongLastSequence ||
      error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}
