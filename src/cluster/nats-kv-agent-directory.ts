import { JetStreamApiCodes, JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { checkKvStoreOptions, isLiveKvEntry, listKvKeys } from '../bus/index.ts';
import { openKvBucket } from '../bus/internal.ts';
import { AgentExistsError } from '../core/index.ts';
import { AgentfleetError } from '../errors/index.ts';
import type { AgentDirectory, ListAgentRecordsOptions } from './agent-directory.ts';
import type { AgentRecord, StoredAgent } from './agent-record.ts';
import {
  agentListLimit,
  decodeAgentRecord,
  encodeAgentRecord,
  MAX_AGENT_RECORD_BYTES,
} from './agent-record-checks.ts';
import { AgentDirectoryUnavailableError } from './errors.ts';
import { agentKey, fromAgentKeyToken, tenantFilter } from './nats-kv-agent-keys.ts';

/** Options of `NatsKvAgentDirectory.open`. */
export interface NatsKvAgentDirectoryOptions {
  /** A connection to use (not closed by `close()`). Give this or `servers`. */
  connection?: NatsConnection;
  /** Servers to connect to (the directory owns that connection and closes it). */
  servers?: string | string[];
  /** The bucket (history 1, no max age). Default `agentfleet-agents`. */
  bucket?: string;
  /** Milliseconds one request may take (and a key listing may go without progress). Default 2,000. */
  timeoutMs?: number;
  /** Replicas of the bucket's stream (on a NATS cluster), when it is created. Default 1. */
  replicas?: number;
}

/** Concurrent gets when a list reads many records (multiplexed on one connection). */
const BATCH = 64;
/** Attempts of an unconditional delete that keeps finding the record rewritten under it. */
const DELETE_ATTEMPTS = 16;
/** Bytes of a message left for the subject and headers under the server's max payload. */
const HEADER_ROOM = 1_024;

/**
 * The agent directory in a JetStream KV bucket (history 1, no max age), one key per agent:
 * `a.<tenant>.<id>` (see `nats-kv-agent-keys.ts`), its value the record's JSON. `create` puts
 * only where the key has no record; `update` and a `delete` at a revision are compare-and-set
 * on the key's last revision, so of nodes racing for one revision the server lets exactly one
 * write. A delete leaves the bucket's delete marker (one small message per deleted agent, until
 * `kv.purgeDeletes()`); `purgeTenant` removes a tenant's keys from the stream outright.
 *
 * `list` reads the tenant's live key names (an ordered consumer over the last message of each
 * key), sorts them by id and reads records 64 at a time until the page is full: a listing costs
 * the tenant's key count, fine for the hundreds of thousands. A record larger than 1 MiB
 * encoded (or than the server's max payload, less 1 KiB) is refused with `INVALID_OPTIONS`.
 * Any failure to reach the server is `AGENT_DIRECTORY_UNAVAILABLE` with the client's error as cause.
 */
export class NatsKvAgentDirectory implements AgentDirectory {
  /** The bucket's name. */
  readonly bucket: string;
  readonly #kv: KV;
  readonly #jsm: JetStreamManager;
  readonly #nc: NatsConnection;
  readonly #owned: boolean;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;
  #closed = false;

  private constructor(
    bucket: string,
    kv: KV,
    jsm: JetStreamManager,
    nc: NatsConnection,
    owned: boolean,
    timeoutMs: number,
  ) {
    this.bucket = bucket;
    this.#kv = kv;
    this.#jsm = jsm;
    this.#nc = nc;
    this.#owned = owned;
    this.#timeoutMs = timeoutMs;
    const maxPayload = nc.info?.max_payload;
    this.#maxBytes =
      maxPayload === undefined
        ? MAX_AGENT_RECORD_BYTES
        : Math.min(MAX_AGENT_RECORD_BYTES, maxPayload - HEADER_ROOM);
  }

  /**
   * Opens (creating if needed) the bucket.
   * @throws InvalidOptionsError for bad options; AgentDirectoryUnavailableError
   * (`AGENT_DIRECTORY_UNAVAILABLE`) when the server cannot be reached or the bucket not opened.
   */
  static async open(options: NatsKvAgentDirectoryOptions): Promise<NatsKvAgentDirectory> {
    const { bucket, timeout, replicas } = checkKvStoreOptions('NatsKvAgentDirectory', options, {
      bucket: 'agentfleet-agents',
      timeoutMs: 2_000,
      needsTarget: true,
    });
    const unavailable = (what: string, cause: unknown) => new AgentDirectoryUnavailableError(what, { cause });
    const { kv, js, nc, owned } = await openKvBucket(options, bucket, { timeout, replicas }, unavailable);
    try {
      const jsm = await js.jetstreamManager(false);
      return new NatsKvAgentDirectory(bucket, kv, jsm, nc, owned, timeout);
    } catch (error) {
      if (owned) await nc.close().catch(() => {});
      throw unavailable('reach the JetStream manager', error);
    }
  }

  async get(tenant: string | undefined, id: string): Promise<StoredAgent | undefined> {
    this.#open('read an agent');
    if (!nameable(tenant, id)) return undefined;
    const key = agentKey(tenant, id);
    const entry = await this.#call(`read the agent ${id}`, () => this.#kv.get(key));
    return isLiveKvEntry(entry)
      ? { record: decodeAgentRecord(entry.string(), key, tenant, id), revision: entry.revision }
      : undefined;
  }

  async create(record: AgentRecord): Promise<StoredAgent> {
    this.#open('create an agent');
    const checked = encodeAgentRecord(record, this.#maxBytes);
    const key = agentKey(checked.record.tenant, checked.record.id);
    return this.#call(`create the agent ${checked.record.id}`, async () => {
      try {
        return {
          record: JSON.parse(checked.json) as AgentRecord,
          revision: await this.#kv.create(key, checked.json),
        };
      } catch (error) {
        if (isCasConflict(error)) throw new AgentExistsError(checked.record.id);
        throw error;
      }
    });
  }

  async update(record: AgentRecord, revision: number): Promise<StoredAgent | undefined> {
    this.#open('update an agent');
    const checked = encodeAgentRecord(record, this.#maxBytes);
    if (!Number.isInteger(revision) || revision < 1) return undefined;
    const key = agentKey(checked.record.tenant, checked.record.id);
    return this.#call(`update the agent ${checked.record.id}`, async () => {
      try {
        return {
          record: JSON.parse(checked.json) as AgentRecord,
          revision: await this.#kv.update(key, checked.json, revision),
        };
      } catch (error) {
        if (isCasConflict(error)) return undefined;
        throw error;
      }
    });
  }

  async delete(tenant: string | undefined, id: string, revision?: number): Promise<boolean> {
    this.#open('delete an agent');
    if (!nameable(tenant, id)) return false;
    if (revision !== undefined && (!Number.isInteger(revision) || revision < 1)) return false;
    const key = agentKey(tenant, id);
    return this.#call(`delete the agent ${id}`, async () => {
      if (revision !== undefined) return this.#deleteAt(key, revision);
      // Unconditional: delete at the revision read, so a delete never writes a marker over an
      // absent key (and "false when absent" holds); a write in between makes it read again.
      for (let attempt = 0; attempt < DELETE_ATTEMPTS; attempt++) {
        const entry = await this.#kv.get(key);
        if (!isLiveKvEntry(entry)) return false;
        if (await this.#deleteAt(key, entry.revision)) return true;
      }
      throw new AgentDirectoryUnavailableError(`delete the agent ${id}: it kept changing under the delete`);
    });
  }

  async list(tenant: string | undefined, options: ListAgentRecordsOptions = {}): Promise<AgentRecord[]> {
    this.#open('list agents');
    const limit = agentListLimit(options.limit);
    if (tenant !== undefined && !nameable(tenant, 'x')) return [];
    return this.#call('list agents', async () => {
      const ids = (await listKvKeys(this.#kv, tenantFilter(tenant), this.#timeoutMs))
        .map((key) => fromAgentKeyToken(key.slice(key.lastIndexOf('.') + 1)))
        .filter((id) => options.after === undefined || id > options.after)
        .sort();
      const found: AgentRecord[] = [];
      for (let i = 0; i < ids.length && found.length < limit; i += BATCH) {
        const batch = ids.slice(i, i + BATCH);
        const entries = await Promise.all(batch.map((id) => this.#kv.get(agentKey(tenant, id))));
        for (const [j, entry] of entries.entries()) {
          const id = batch[j] as string;
          // A key deleted since it was listed is simply not part of the page.
          if (isLiveKvEntry(entry) && found.length < limit)
            found.push(decodeAgentRecord(entry.string(), agentKey(tenant, id), tenant, id));
        }
      }
      return found;
    });
  }

  async purgeTenant(tenant: string): Promise<number> {
    this.#open('delete a tenant’s agents');
    if (!nameable(tenant, 'x')) return 0;
    const filter = tenantFilter(tenant);
    return this.#call(`delete the agents of tenant ${tenant}`, async () => {
      const live = (await listKvKeys(this.#kv, filter, this.#timeoutMs)).length;
      // A stream purge by subject leaves no delete markers behind.
      await this.#jsm.streams.purge(`KV_${this.bucket}`, { filter: `$KV.${this.bucket}.${filter}` });
      return live;
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#owned) await this.#nc.close().catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Deletes `key` if its last revision is `revision`; false if not. */
  async #deleteAt(key: string, revision: number): Promise<boolean> {
    try {
      await this.#kv.delete(key, { previousSeq: revision });
      return true;
    } catch (error) {
      if (isCasConflict(error)) return false;
      throw error;
    }
  }

  async #call<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof AgentfleetError) throw error;
      throw new AgentDirectoryUnavailableError(`${what}: ${(error as Error)?.message ?? String(error)}`, {
        cause: error,
      });
    }
  }

  #open(what: string): void {
    if (this.#closed) throw new AgentDirectoryUnavailableError(`${what}: it is closed`);
  }
}

/** Whether some record could have this tenant and id (others are absent without asking the server). */
function nameable(tenant: string | undefined, id: string): boolean {
  return (
    (tenant === undefined || (tenant.length >= 1 && tenant.length <= 64)) &&
    id.length >= 1 &&
    id.length <= 256
  );
}

function isCasConflict(error: unknown): boolean {
  return (
    error instanceof JetStreamApiError &&
    (error.code === JetStreamApiCodes.StreamWrongLastSequence ||
      error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}
