import { type FileHandle, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { AgentfleetError } from '../errors/index.ts';

/** A document as the knowledge base keeps it. */
export interface StoredDocument {
  id: string;
  tenant: string;
  text: string;
  metadata: Record<string, string | number | boolean>;
}

/** The chunk vectors of a document, as stored beside it. */
export interface StoredVectors {
  /** `Embedder.id` of the embedder that made them. */
  embedder: string;
  /** Fingerprint of the chunk texts they are the vectors of. */
  chunking: string;
  dimensions: number;
  chunks: number;
  /** `chunks × dimensions` values, chunk after chunk. */
  data: Float32Array;
}

/** A document with, when the embedder has an id, its vectors. */
export interface StoredRecord {
  doc: StoredDocument;
  vectors?: StoredVectors | undefined;
}

/** One change, as `DocumentLog.open` replays it. */
export type LogEntry =
  | { op: 'upsert'; doc: StoredDocument; vectors?: StoredVectors | undefined }
  | { op: 'delete'; tenant: string; id: string };

/** On disk the vectors are base64 of their little-endian float32 bytes. */
type EncodedVectors = Omit<StoredVectors, 'data'> & { data: string };
type Line =
  | { op: 'upsert'; doc: StoredDocument; vectors?: EncodedVectors }
  | { op: 'delete'; tenant: string; id: string };

/** The store on disk is unreadable (not a torn last write, which is expected after a crash). */
export class KnowledgeStoreCorruptError extends AgentfleetError {
  constructor(message: string, cause?: unknown) {
    super('KNOWLEDGE_STORE_CORRUPT', message, { cause });
  }
}

const SNAPSHOT = 'snapshot.jsonl';
/** The snapshot of earlier versions, one JSON array without vectors; read when there is no `snapshot.jsonl`. */
const LEGACY_SNAPSHOT = 'snapshot.json';
const LOG = 'log.jsonl';

/**
 * Crash-safe persistence: a snapshot (`snapshot.jsonl`, one upsert line per document, replaced
 * by rename) plus an append log (`log.jsonl`) of upserts and deletes, each synced to disk before
 * it is acknowledged. An upsert line carries the document's chunk vectors when it has them, in
 * the same write. Loading replays the log over the snapshot; a torn last line (a crash
 * mid-write, never acknowledged) is dropped. Files are read and written line by line, so no
 * string ever holds the whole store.
 */
export class DocumentLog {
  readonly #dir: string;
  #log: FileHandle | undefined;
  /** Bytes of complete lines in the log: a failed append is cut back to this. */
  #logBytes = 0;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(dir: string) {
    this.#dir = dir;
  }

  /**
   * Opens (creating) the store and replays what it holds into `onEntry`: the snapshot's
   * documents, then the log's changes in order. @throws KnowledgeStoreCorruptError
   */
  static async open(dir: string, onEntry: (entry: LogEntry) => void): Promise<DocumentLog> {
    await mkdir(dir, { recursive: true });
    for await (const { entry, where } of readSnapshot(dir)) onEntry(decode(entry, dir, where));
    let validBytes = 0;
    for await (const { line, end, number } of readLines(join(dir, LOG))) {
      onEntry(decode(parse(line, dir, LOG, number), dir, `${LOG} line ${number}`));
      validBytes = end;
    }
    const log = new DocumentLog(dir);
    log.#log = await open(join(dir, LOG), 'a+');
    await log.#log.truncate(validBytes); // cut a torn last line
    log.#logBytes = validBytes;
    return log;
  }

  /** Appends and syncs an upsert (with its vectors, if given); resolves once it is on disk. */
  upsert(doc: StoredDocument, vectors?: StoredVectors): Promise<void> {
    return this.#append(encodeUpsert({ doc, vectors }));
  }

  /** Appends and syncs a delete. */
  delete(tenant: string, id: string): Promise<void> {
    return this.#append(JSON.stringify({ op: 'delete', tenant, id } satisfies Line));
  }

  /**
   * Writes what the store holds as the new snapshot and empties the log. The store is merged
   * from disk line by line (lines are copied, not decoded), except that a live document with
   * an entry in `replacements` is written as that record instead (vectors re-embedded since).
   */
  compact(replacements: ReadonlyMap<string, StoredRecord> = new Map()): Promise<void> {
    const run = this.#queue.then(async () => {
      const logPath = join(this.#dir, LOG);
      // The last line of each document in the log decides it; everything before is superseded.
      const last = new Map<string, number>();
      for await (const { line, number } of readLines(logPath)) {
        last.set(keyOfLine(parse(line, this.#dir, LOG, number)), number);
      }
      const temporary = join(this.#dir, `${SNAPSHOT}.tmp`);
      const file = await open(temporary, 'w');
      try {
        const out = new LineWriter(file);
        const keep = async (key: string, line: string) => {
          const replacement = replacements.get(key);
          await out.write(replacement === undefined ? line : encodeUpsert(replacement));
        };
        for await (const { entry, line } of readSnapshot(this.#dir)) {
          const key = keyOfLine(entry);
          if (!last.has(key)) await keep(key, line);
        }
        for await (const { line, number } of readLines(logPath)) {
          const entry = parse(line, this.#dir, LOG, number);
          const key = keyOfLine(entry);
          if (entry.op === 'upsert' && last.get(key) === number) await keep(key, line);
        }
        await out.flush();
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temporary, join(this.#dir, SNAPSHOT));
      await syncDirectory(this.#dir); // the rename is durable before the log it replaces is emptied
      await rm(join(this.#dir, LEGACY_SNAPSHOT), { force: true });
      await this.#log!.truncate(0);
      await this.#log!.sync();
      this.#logBytes = 0;
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    await this.#queue;
    await this.#log?.close();
    this.#log = undefined;
  }

  #append(line: string): Promise<void> {
    const run = this.#queue.then(async () => {
      const text = `${line}\n`;
      try {
        await this.#log!.appendFile(text);
        await this.#log!.datasync();
      } catch (error) {
        // Not acknowledged, so not kept: later lines must not follow a partial one, and the
        // disk must hold what memory does (compaction merges from disk).
        await this.#log!.truncate(this.#logBytes).catch(() => {});
        throw error;
      }
      this.#logBytes += Buffer.byteLength(text);
    });
    this.#queue = run.catch(() => {});
    return run;
  }
}

export function keyOf(tenant: string, id: string): string {
  return `${tenant}\u0000${id}`;
}

function keyOfLine(line: Line): string {
  return line.op === 'upsert' ? keyOf(line.doc.tenant, line.doc.id) : keyOf(line.tenant, line.id);
}

const LITTLE_ENDIAN = endianness() === 'LE';

function encodeUpsert({ doc, vectors }: StoredRecord): string {
  if (vectors === undefined) return JSON.stringify({ op: 'upsert', doc } satisfies Line);
  const { data, ...rest } = vectors;
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const le = LITTLE_ENDIAN ? bytes : Buffer.from(bytes).swap32();
  return JSON.stringify({
    op: 'upsert',
    doc,
    vectors: { ...rest, data: le.toString('base64') },
  } satisfies Line);
}

function parse(line: string, dir: string, file: string, number: number): Line {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new KnowledgeStoreCorruptError(`${dir}/${file} line ${number} is not valid JSON.`, error);
  }
  if (!isLine(value)) throw new KnowledgeStoreCorruptError(`${dir}/${file} line ${number} is not an entry.`);
  return value;
}

function isLine(value: unknown): value is Line {
  const v = value as Partial<Record<string, unknown>> | null;
  if (typeof v !== 'object' || v === null) return false;
  if (v.op === 'delete') return typeof v.tenant === 'string' && typeof v.id === 'string';
  const doc = v.doc as Partial<Record<string, unknown>> | null | undefined;
  return (
    v.op === 'upsert' &&
    typeof doc === 'object' &&
    doc !== null &&
    typeof doc.tenant === 'string' &&
    typeof doc.id === 'string' &&
    typeof doc.text === 'string' &&
    typeof doc.metadata === 'object' &&
    doc.metadata !== null
  );
}

/** Decodes and checks an entry's vectors. @throws KnowledgeStoreCorruptError */
function decode(line: Line, dir: string, where: string): LogEntry {
  if (line.op === 'delete' || line.vectors === undefined) return line as LogEntry;
  const v = line.vectors as Partial<Record<keyof EncodedVectors, unknown>>;
  const corrupt = (why: string) =>
    new KnowledgeStoreCorruptError(`${dir}/${where}: the vectors of "${line.doc.id}" ${why}.`);
  if (
    typeof v.embedder !== 'string' ||
    typeof v.chunking !== 'string' ||
    !Number.isSafeInteger(v.dimensions) ||
    (v.dimensions as number) < 1 ||
    !Number.isSafeInteger(v.chunks) ||
    (v.chunks as number) < 0 ||
    typeof v.data !== 'string'
  ) {
    throw corrupt('are malformed');
  }
  const byteLength = (v.dimensions as number) * (v.chunks as number) * 4;
  // Buffer skips characters that are not base64, so a damaged string decodes short.
  const bytes = Buffer.from(v.data, 'base64');
  if (bytes.length !== byteLength || v.data.length !== Math.ceil(byteLength / 3) * 4) {
    throw corrupt(`hold ${bytes.length} bytes, not ${v.dimensions} dimensions × ${v.chunks} chunks × 4`);
  }
  if (!LITTLE_ENDIAN) bytes.swap32();
  const data = new Float32Array(byteLength / 4);
  new Uint8Array(data.buffer).set(bytes); // copied: the decoded bytes need not be 4-byte aligned
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) throw corrupt(`hold a value that is not finite (at ${i})`);
  }
  return { op: 'upsert', doc: line.doc, vectors: { ...(v as EncodedVectors), data } };
}

/**
 * The snapshot's upserts, with where each is for messages: `snapshot.jsonl`, or when there is
 * none the JSON array of an older `snapshot.json`.
 */
async function* readSnapshot(dir: string): AsyncGenerator<{ entry: Line; line: string; where: string }> {
  if (await exists(join(dir, SNAPSHOT))) {
    for await (const { line, number } of readLines(join(dir, SNAPSHOT), true)) {
      const entry = parse(line, dir, SNAPSHOT, number);
      if (entry.op !== 'upsert') {
        throw new KnowledgeStoreCorruptError(`${dir}/${SNAPSHOT} line ${number} is not an upsert.`);
      }
      yield { entry, line, where: `${SNAPSHOT} line ${number}` };
    }
    return;
  }
  if (!(await exists(join(dir, LEGACY_SNAPSHOT)))) return;
  let docs: unknown;
  try {
    docs = JSON.parse(await readFile(join(dir, LEGACY_SNAPSHOT), 'utf8'));
  } catch (error) {
    throw new KnowledgeStoreCorruptError(`${dir}/${LEGACY_SNAPSHOT} is not valid JSON.`, error);
  }
  if (!Array.isArray(docs))
    throw new KnowledgeStoreCorruptError(`${dir}/${LEGACY_SNAPSHOT} is not an array.`);
  for (const doc of docs) {
    const entry = { op: 'upsert', doc } as Line;
    if (!isLine(entry))
      throw new KnowledgeStoreCorruptError(`${dir}/${LEGACY_SNAPSHOT} holds a non-document.`);
    yield { entry, line: JSON.stringify(entry), where: LEGACY_SNAPSHOT };
  }
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

/**
 * The complete lines of a file (none when it does not exist), with their 1-based number and the
 * byte offset just past their newline. Text after the last newline is a torn write: left out,
 * or with `strict` (a snapshot, written whole before its rename) an error.
 */
async function* readLines(
  path: string,
  strict = false,
): AsyncGenerator<{ line: string; number: number; end: number }> {
  let file: FileHandle;
  try {
    file = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    let partial: Buffer[] = [];
    let offset = 0;
    let number = 0;
    for await (const chunk of file.createReadStream({ highWaterMark: 1 << 20, autoClose: false })) {
      const buffer = chunk as Buffer;
      let start = 0;
      for (let nl = buffer.indexOf(10); nl !== -1; nl = buffer.indexOf(10, start)) {
        const piece = buffer.subarray(start, nl);
        const bytes = partial.length === 0 ? piece : Buffer.concat([...partial, piece]);
        partial = [];
        offset += bytes.length + 1;
        yield { line: bytes.toString('utf8'), number: ++number, end: offset };
        start = nl + 1;
      }
      if (start < buffer.length) partial.push(buffer.subarray(start));
    }
    if (strict && partial.length > 0) {
      throw new KnowledgeStoreCorruptError(`${path} ends without a newline (a partial write).`);
    }
  } finally {
    await file.close();
  }
}

/** Buffers lines into large writes. */
class LineWriter {
  readonly #file: FileHandle;
  #parts: string[] = [];
  #size = 0;

  constructor(file: FileHandle) {
    this.#file = file;
  }

  async write(line: string): Promise<void> {
    this.#parts.push(line, '\n');
    this.#size += line.length + 1;
    if (this.#size >= 1 << 20) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#parts.length === 0) return;
    const text = this.#parts.join('');
    this.#parts = [];
    this.#size = 0;
    await this.#file.appendFile(text);
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
