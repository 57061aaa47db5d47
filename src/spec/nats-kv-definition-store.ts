import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { checkKvStoreOptions, isLiveKvEntry, listKvKeys } from '../bus/index.ts';
import { openKvBucket } from '../bus/internal.ts';
import { AgentfleetError } from '../errors/index.ts';
import {
  type DefinitionStore,
  DefinitionStoreUnavailableError,
  type DefinitionWatch,
  type DefinitionWatchHandlers,
  decodeDefinitionValue,
  definitionChange,
  definitionKey,
  definitionTenantFilter,
  encodeDefinitionValue,
} from './definition-store.ts';

/** Options of `NatsKvDefinitionStore.open`. */
export interface NatsKvDefinitionStoreOptions {
  /** A connection to use (not closed by `close()`). Give this or `servers`. */
  connection?: NatsConnection;
  /** Servers to connect to (the store owns that connection and closes it). */
  servers?: string | string[];
  /** The bucket (history 1, no max age). Default `agentfleet-definitions`. */
  bucket?: string;
  /** Milliseconds one request may take (and a key listing may go without progress). Default 2,000. */
  timeoutMs?: number;
  /** Replicas of the bucket's stream (on a NATS cluster), when it is created. Default 1. */
  replicas?: number;
}

/**
 * Tenants' definitions in a JetStream KV bucket (history 1, no max age), one key per tenant and
 * name: `d.<tenant>.<name>`, its value `{ v, tenant, name, format, text }` as JSON. A revision is
 * the bucket stream's sequence, so `head()` is the stream's last sequence and a watch (over
 * every key, so that a foreign key's message counts too) reaches it. A tenant's purge purges
 * each of its keys (a purge marker each, which watchers see), not the stream by subject.
 * Failures to reach the server are `DEFINITION_STORE_UNAVAILABLE` with the client's error as cause.
 */
export class NatsKvDefinitionStore implements DefinitionStore {
  /** The bucket's name. */
  readonly bucket: string;
  readonly #kv: KV;
  readonly #nc: NatsConnection;
  readonly #owned: boolean;
  readonly #timeoutMs: number;
  readonly #watches = new Set<DefinitionWatch>();
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
   * @throws InvalidOptionsError for bad options; DefinitionStoreUnavailableError when the server
   * cannot be reached or the bucket not opened.
   */
  static async open(options: NatsKvDefinitionStoreOptions): Promise<NatsKvDefinitionStore> {
    const { bucket, timeout, replicas } = checkKvStoreOptions('NatsKvDefinitionStore', options, {
      bucket: 'agentfleet-definitions',
      timeoutMs: 2_000,
      needsTarget: true,
    });
    const { kv, nc, owned } = await openKvBucket(
      options,
      bucket,
      { timeout, replicas },
      (what, cause) => new DefinitionStoreUnavailableError(what, { cause }),
    );
    return new NatsKvDefinitionStore(bucket, kv, nc, owned, timeout);
  }

  async put(tenant: string, name: string, text: string, format: 'json' | 'yaml'): Promise<number> {
    this.#open('write a definition');
    const value = encodeDefinitionValue(tenant, name, text, format);
    return this.#call(`write the definition ${name}`, () => this.#kv.put(definitionKey(tenant, name), value));
  }

  async get(
    tenant: string,
    name: string,
  ): Promise<{ text: string; format: 'json' | 'yaml'; revision: number } | undefined> {
    this.#open('read a definition');
    const key = definitionKey(tenant, name);
    const entry = await this.#call(`read the definition ${name}`, () => this.#kv.get(key));
    if (!isLiveKvEntry(entry)) return undefined;
    const decoded = decodeDefinitionValue(key, entry.string());
    return { text: decoded.text, format: decoded.format, revision: entry.revision };
  }

  async delete(tenant: string, name: string): Promise<boolean> {
    this.#open('delete a definition');
    const key = definitionKey(tenant, name);
    return this.#call(`delete the definition ${name}`, async () => {
      if (!isLiveKvEntry(await this.#kv.get(key))) return false;
      await this.#kv.delete(key);
      return true;
    });
  }

  async purgeTenant(tenant: string): Promise<number> {
    this.#open('delete a tenant’s definitions');
    return this.#call(`delete the definitions of tenant ${tenant}`, async () => {
      const keys = await listKvKeys(this.#kv, definitionTenantFilter(tenant), this.#timeoutMs);
      for (const key of keys) await this.#kv.purge(key);
      return keys.length;
    });
  }

  async head(): Promise<number> {
    this.#open('read its head');
    return this.#call('read its head', async () => (await this.#kv.status()).streamInfo.state.last_seq);
  }

  async watch(handlers: DefinitionWatchHandlers): Promise<DefinitionWatch> {
    this.#open('watch definitions');
    const iter = await this.#call('watch definitions', () => this.#kv.watch({ key: '>' }));
    const loop = (async () => {
      for await (const entry of iter) {
        try {
          await handlers.change(
            definitionChange(
              entry.key,
              entry.revision,
              isLiveKvEntry(entry) ? entry.string() : undefined,
              handlers,
            ),
          );
        } catch {
          // The handler reports its own failures; the watch goes on.
        }
      }
    })().catch(() => undefined);
    const watch: DefinitionWatch = {
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

  async #call<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof AgentfleetError) throw error;
      throw new DefinitionStoreUnavailableError(`${what}: ${(error as Error)?.message ?? String(error)}`, {
        cause: error,
      });
    }
  }

  #open(what: string): void {
    if (this.#closed) throw new DefinitionStoreUnavailableError(`${what}: it is closed`);
  }
}
