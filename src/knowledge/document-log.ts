import { type FileHandle, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { AbortedError } from '../errors/index.ts';
import { KnowledgeStoreCorruptError } from './store-errors.ts';
import { formatLine, formatLineBytes, LineWriter, readStoreLines } from './store-lines.ts';
import { StoreLock } from './store-lock.ts';
import {
  decode,
  encodeUpsert,
  isLine,
  keyOf,
  type Line,
  type LogEntry,
  type StoredRecord,
  tenantOfKey,
  toRecord,
} from './store-records.ts';

export type { LogEntry, StoredDocument, StoredRecord, StoredVectors } from './store-records.ts';
export { keyOf } from './store-records.ts';

const SNAPSHOT = 'snapshot.jsonl';
/** The snapshot of the first versions, one JSON array without vectors; read when there is no `snapshot.jsonl`. */
const LEGACY_SNAPSHOT = 'snapshot.json';
const LOG = 'log.jsonl';
const TEMPORARY = `${SNAPSHOT}.tmp`;
/** A line this long (a large document with its vectors) is written after a turn of the event loop. */
const LARGE_LINE = 1 << 20;

/** When the log is folded into a new snapshot on its own. */
export interface CompactionPolicy {
  /** Compact once the files hold more than `ratio` × the bytes of the live records. */
  ratio: number;
  /** …and the log holds at least this many bytes. */
  minBytes: number;
}

/** What the store's files hold, in bytes. */
export interface StorageStats {
  snapshotBytes: number;
  logBytes: number;
  /** Bytes of the records a compaction would keep (the live documents). */
  liveBytes: number;
  /** Compactions done since open, asked for or automatic. */
  compactions: number;
  /** Message of the last automatic compaction that failed, until one succeeds. */
  lastCompactionError?: string;
}

/**
 * Crash-safe persistence: a snapshot (`snapshot.jsonl`, one upsert line per document and a
 * closing count, replaced by rename) plus an append log (`log.jsonl`) of upserts, deletes and
 * tenant deletions, each synced to disk before it is acknowledged. Every line is checksummed
 * in a chain (`store-lines.ts`), so damage anywhere is `KNOWLEDGE_STORE_CORRUPT`; only a torn
 * last line of the log (a crash mid-write, never acknowledged) is dropped. The directory is
 * locked (`store-lock.ts`) while open. Files are read and written line by line, so no string
 * ever holds the whole store.
 */
export class DocumentLog {
  readonly #dir: string;
  readonly #lock: StoreLock;
  readonly #policy: CompactionPolicy;
  #log: FileHandle | undefined;
  /** Bytes of complete lines in the log: a failed append is cut back to this. */
  #logBytes = 0;
  /** The log's checksum chain so far. */
  #crc = 0;
  #snapshotBytes = 0;
  /** Bytes of the line that decides each live document. */
  readonly #live = new Map<string, number>();
  #liveBytes = 0;
  #compactions = 0;
  /** After a failed automatic compaction, the next waits for the log to reach this. */
  #retryAt = 0;
  #lastError: string | undefined;
  /** Files in an older format, or a tenant's deleted text still on disk: rewrite on open. */
  #stale = false;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(dir: string, lock: StoreLock, policy: CompactionPolicy) {
    this.#dir = dir;
    this.#lock = lock;
    this.#policy = policy;
  }

  /**
   * Opens (creating) and locks the store, and replays what it holds into `onEntry`: the
   * snapshot's documents, then the log's changes in order.
   * @throws KnowledgeStoreLockedError, KnowledgeStoreCorruptError
   */
  static async open(
    dir: string,
    onEntry: (entry: LogEntry) => void,
    policy: CompactionPolicy,
  ): Promise<DocumentLog> {
    const directory = resolve(dir);
    await mkdir(directory, { recursive: true });
    const log = new DocumentLog(directory, await StoreLock.acquire(directory), policy);
    try {
      await log.#load(onEntry);
    } catch (error) {
      await log.close();
      throw error;
    }
    return log;
  }

  /** True when the files are in an older format or hold a deleted tenant's text: `compact()` rewrites them. */
  get stale(): boolean {
    return this.#stale;
  }

  /** True when the policy wants a compaction now. */
  get wantsCompaction(): boolean {
    const disk = this.#snapshotBytes + this.#logBytes;
    return (
      this.#log !== undefined &&
      this.#logBytes >= Math.max(this.#policy.minBytes, this.#retryAt) &&
      disk > this.#policy.ratio * this.#liveBytes
    );
  }

  get stats(): StorageStats {
    const stats: StorageStats = {
      snapshotBytes: this.#snapshotBytes,
      logBytes: this.#logBytes,
      liveBytes: this.#liveBytes,
      compactions: this.#compactions,
    };
    if (this.#lastError !== undefined) stats.lastCompactionError = this.#lastError;
    return stats;
  }

  /** Appends and syncs an upsert (with its vectors, if given); resolves once it is on disk. */
  upsert(record: StoredRecord): Promise<void> {
    const key = keyOf(record.doc.tenant, record.doc.id);
    return this.#append(encodeUpsert(record), (bytes) => this.#setLive(key, bytes));
  }

  /** Appends and syncs a delete. */
  delete(tenant: string, id: string): Promise<void> {
    return this.#append(JSON.stringify({ op: 'delete', tenant, id } satisfies Line), () =>
      this.#setLive(keyOf(tenant, id), undefined),
    );
  }

  /** Appends and syncs the deletion of every document of a tenant (one record). */
  deleteTenant(tenant: string): Promise<void> {
    return this.#append(JSON.stringify({ op: 'deleteTenant', tenant } satisfies Line), () =>
      this.#dropTenant(tenant),
    );
  }

  /**
   * Writes what the store holds as the new snapshot and empties the log; a deleted document's
   * text is then in no file. The store is merged from disk line by line (records are copied,
   * not decoded), except that a live document with an entry in `replacements` is written as
   * that record instead (vectors re-embedded since). Crash-safe at every step: the new snapshot
   * is synced and renamed into place before the log is emptied, and until then the old files
   * are whole. An abort before the rename leaves the store as it was.
   * @throws AbortedError, KnowledgeStoreCorruptError
   */
  compact(replacements: ReadonlyMap<string, StoredRecord> = new Map(), signal?: AbortSignal): Promise<void> {
    const run = this.#queue.then(() => this.#compact(replacements, signal));
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Records the failure of an automatic compaction; the next waits for the log to double. */
  compactionFailed(error: unknown): void {
    this.#lastError = error instanceof Error ? error.message : String(error);
    this.#retryAt = Math.max(this.#policy.minBytes, 2 * this.#logBytes);
  }

  /** Waits for queued writes, closes the log and releases the lock. */
  async close(): Promise<void> {
    await this.#queue;
    await this.#log?.close();
    this.#log = undefined;
    await this.#lock.release();
  }

  async #load(onEntry: (entry: LogEntry) => void): Promise<void> {
    await rm(join(this.#dir, TEMPORARY), { force: true }); // a compaction cut short
    for await (const { entry, bytes } of this.#readSnapshot()) {
      onEntry(entry);
      this.#setLive(keyOf(entry.doc.tenant, entry.doc.id), bytes);
    }
    const path = join(this.#dir, LOG);
    for await (const line of readStoreLines(path)) {
      const where = { file: path, line: line.number, offset: line.offset };
      const record = toRecord(line, path);
      if (record.op === 'end') throw new KnowledgeStoreCorruptError('a snapshot record in the log', where);
      const entry = decode(record, where);
      onEntry(entry);
      if (entry.op === 'deleteTenant') {
        this.#dropTenant(entry.tenant);
        this.#stale = true; // its text may still be in the files
      } else {
        const key =
          entry.op === 'upsert' ? keyOf(entry.doc.tenant, entry.doc.id) : keyOf(entry.tenant, entry.id);
        this.#setLive(key, entry.op === 'upsert' ? line.end - line.offset : undefined);
      }
      if (line.legacy) this.#stale = true;
      else this.#crc = formatLine(this.#crc, line.json).crc;
      this.#logBytes = line.end;
    }
    this.#log = await open(path, 'a+');
    await this.#log.truncate(this.#logBytes); // cut a torn last line
  }

  #setLive(key: string, bytes: number | undefined): void {
    this.#liveBytes -= this.#live.get(key) ?? 0;
    if (bytes === undefined) this.#live.delete(key);
    else {
      this.#live.set(key, bytes);
      this.#liveBytes += bytes;
    }
  }

  #dropTenant(tenant: string): void {
    for (const key of this.#live.keys()) if (tenantOfKey(key) === tenant) this.#setLive(key, undefined);
  }

  #append(json: string, onWritten: (bytes: number) => void): Promise<void> {
    const run = this.#queue.then(async () => {
      if (json.length >= LARGE_LINE) await yieldToLoop(); // its encoding just took the loop a while
      const { bytes: text, crc } = formatLineBytes(this.#crc, json);
      try {
        await this.#log!.appendFile(text);
        await this.#log!.datasync();
      } catch (error) {
        // Not acknowledged, so not kept: later lines must not follow a partial one, and the
        // disk must hold what memory does (compaction merges from disk).
        await this.#log!.truncate(this.#logBytes).catch(() => {});
        throw error;
      }
      const bytes = text.length;
      this.#logBytes += bytes;
      this.#crc = crc;
      onWritten(bytes);
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  async #compact(
    replacements: ReadonlyMap<string, StoredRecord>,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const checkAbort = () => {
      if (signal?.aborted) throw new AbortedError('The compaction was aborted; the store is as it was.');
    };
    checkAbort();
    const logPath = join(this.#dir, LOG);
    // The last record of each document in the log decides it, and a tenant deletion every
    // earlier record of the tenant; everything superseded is left out.
    const last = new Map<string, number>();
    const tenantCut = new Map<string, number>();
    for await (const line of readStoreLines(logPath)) {
      const record = toRecord(line, logPath);
      if (record.op === 'deleteTenant') tenantCut.set(record.tenant, line.number);
      else if (record.op !== 'end') last.set(keyOfRecord(record), line.number);
    }
    const temporary = join(this.#dir, TEMPORARY);
    const file = await open(temporary, 'w');
    const live = new Map<string, number>();
    const out = new LineWriter(file);
    let done = false;
    try {
      const keep = async (key: string, json: string) => {
        const replacement = replacements.get(key);
        live.set(key, await out.write(replacement === undefined ? json : encodeUpsert(replacement)));
      };
      for await (const { entry, json } of this.#readSnapshot()) {
        checkAbort();
        const key = keyOf(entry.doc.tenant, entry.doc.id);
        if (!last.has(key) && !tenantCut.has(entry.doc.tenant)) await keep(key, json);
      }
      for await (const line of readStoreLines(logPath)) {
        checkAbort();
        const record = toRecord(line, logPath);
        if (record.op !== 'upsert') continue;
        const key = keyOfRecord(record);
        if (last.get(key) === line.number && line.number > (tenantCut.get(record.doc.tenant) ?? 0)) {
          await keep(key, line.json);
        }
      }
      await out.write(JSON.stringify({ op: 'end', documents: live.size } satisfies Line));
      await out.flush();
      await file.sync();
      done = true;
    } finally {
      await file.close();
      if (!done) await rm(temporary, { force: true });
    }
    await rename(temporary, join(this.#dir, SNAPSHOT));
    await syncDirectory(this.#dir); // the rename is durable before the log it replaces is emptied
    await rm(join(this.#dir, LEGACY_SNAPSHOT), { force: true });
    await this.#log!.truncate(0);
    await this.#log!.sync();
    this.#logBytes = 0;
    this.#crc = 0;
    this.#snapshotBytes = out.bytes;
    this.#live.clear();
    this.#liveBytes = 0;
    for (const [key, bytes] of live) this.#setLive(key, bytes);
    this.#compactions++;
    this.#retryAt = 0;
    this.#lastError = undefined;
    this.#stale = false;
  }

  /**
   * The snapshot's upserts with their JSON and size: `snapshot.jsonl`, which must end with its
   * closing count, or when there is none the JSON array of the first versions' `snapshot.json`.
   */
  async *#readSnapshot(): AsyncGenerator<{
    entry: Extract<LogEntry, { op: 'upsert' }>;
    json: string;
    bytes: number;
  }> {
    const path = join(this.#dir, SNAPSHOT);
    if (await exists(path)) {
      let documents = 0;
      let end: { documents: number; number: number } | undefined;
      let legacy = false;
      let size = 0;
      for await (const line of readStoreLines(path, true)) {
        const where = { file: path, line: line.number, offset: line.offset };
        if (end !== undefined)
          throw new KnowledgeStoreCorruptError('a record after the closing count', where);
        const record = toRecord(line, path);
        legacy = line.legacy;
        size = line.end;
        if (record.op === 'end') {
          end = { documents: record.documents, number: line.number };
          if (record.documents !== documents) {
            throw new KnowledgeStoreCorruptError(
              `${documents} documents, but the closing count says ${record.documents}`,
              where,
            );
          }
          continue;
        }
        if (record.op !== 'upsert') throw new KnowledgeStoreCorruptError('not an upsert', where);
        documents++;
        const entry = decode(record, where) as Extract<LogEntry, { op: 'upsert' }>;
        yield { entry, json: line.json, bytes: line.end - line.offset };
      }
      if (legacy || size === 0) this.#stale ||= legacy;
      else if (end === undefined) {
        throw new KnowledgeStoreCorruptError('cut short: the closing count is missing', {
          file: path,
          offset: size,
        });
      }
      this.#snapshotBytes = size;
      return;
    }
    const legacyPath = join(this.#dir, LEGACY_SNAPSHOT);
    if (!(await exists(legacyPath))) return;
    this.#stale = true;
    let docs: unknown;
    try {
      docs = JSON.parse(await readFile(legacyPath, 'utf8'));
    } catch (error) {
      throw new KnowledgeStoreCorruptError('not valid JSON', { file: legacyPath }, error);
    }
    if (!Array.isArray(docs)) throw new KnowledgeStoreCorruptError('not an array', { file: legacyPath });
    for (const doc of docs) {
      const entry = { op: 'upsert', doc };
      if (!isLine(entry)) throw new KnowledgeStoreCorruptError('holds a non-document', { file: legacyPath });
      const json = JSON.stringify(entry);
      yield {
        entry: entry as Extract<LogEntry, { op: 'upsert' }>,
        json,
        bytes: Buffer.byteLength(json) + 10,
      };
    }
  }
}

function keyOfRecord(record: Extract<Line, { op: 'upsert' | 'delete' }>): string {
  return record.op === 'upsert' ? keyOf(record.doc.tenant, record.doc.id) : keyOf(record.tenant, record.id);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** Makes a rename in `dir` durable (POSIX; Windows cannot open a directory and needs no sync). */
async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
