import { type FileHandle, mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentfleetError } from '../errors/index.ts';

/** A document as the knowledge base keeps it. */
export interface StoredDocument {
  id: string;
  tenant: string;
  text: string;
  metadata: Record<string, string | number | boolean>;
}

type Entry = { op: 'upsert'; doc: StoredDocument } | { op: 'delete'; tenant: string; id: string };

/** The store on disk is unreadable (not a torn last write, which is expected after a crash). */
export class KnowledgeStoreCorruptError extends AgentfleetError {
  constructor(message: string, cause?: unknown) {
    super('KNOWLEDGE_STORE_CORRUPT', message, { cause });
  }
}

/**
 * Crash-safe persistence: a snapshot (`snapshot.json`, replaced by rename) plus an append log
 * (`log.jsonl`) of upserts and deletes, each synced to disk before it is acknowledged. Loading
 * replays the log over the snapshot; a torn last line (a crash mid-write, never acknowledged)
 * is dropped.
 */
export class DocumentLog {
  readonly #dir: string;
  #log: FileHandle | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(dir: string) {
    this.#dir = dir;
  }

  /** Opens (creating) the store and returns it with the documents it holds. */
  static async open(dir: string): Promise<{ log: DocumentLog; documents: Map<string, StoredDocument> }> {
    await mkdir(dir, { recursive: true });
    const documents = new Map<string, StoredDocument>();
    const snapshot = await readOptional(join(dir, 'snapshot.json'));
    if (snapshot !== undefined) {
      try {
        for (const doc of JSON.parse(snapshot) as StoredDocument[])
          documents.set(keyOf(doc.tenant, doc.id), doc);
      } catch (error) {
        throw new KnowledgeStoreCorruptError(`${dir}/snapshot.json is not valid JSON.`, error);
      }
    }
    const text = (await readOptional(join(dir, 'log.jsonl'))) ?? '';
    const lines = text.split('\n');
    let validBytes = 0;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      const complete = i < lines.length - 1; // the text after the last newline is a torn write
      if (!complete) break;
      let entry: Entry;
      try {
        entry = JSON.parse(line) as Entry;
      } catch (error) {
        throw new KnowledgeStoreCorruptError(`${dir}/log.jsonl line ${i + 1} is not valid JSON.`, error);
      }
      if (entry.op === 'upsert') documents.set(keyOf(entry.doc.tenant, entry.doc.id), entry.doc);
      else documents.delete(keyOf(entry.tenant, entry.id));
      validBytes += Buffer.byteLength(line) + 1;
    }
    const log = new DocumentLog(dir);
    log.#log = await open(join(dir, 'log.jsonl'), 'a+');
    await log.#log.truncate(validBytes);
    return { log, documents };
  }

  /** Appends and syncs an upsert; resolves once it is on disk. */
  upsert(doc: StoredDocument): Promise<void> {
    return this.#append({ op: 'upsert', doc });
  }

  /** Appends and syncs a delete. */
  delete(tenant: string, id: string): Promise<void> {
    return this.#append({ op: 'delete', tenant, id });
  }

  /** Writes every document as the new snapshot and empties the log. */
  compact(documents: Iterable<StoredDocument>): Promise<void> {
    const run = this.#queue.then(async () => {
      const temporary = join(this.#dir, 'snapshot.json.tmp');
      const file = await open(temporary, 'w');
      try {
        await file.writeFile(JSON.stringify([...documents]));
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temporary, join(this.#dir, 'snapshot.json'));
      await this.#log!.truncate(0);
      await this.#log!.sync();
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    await this.#queue;
    await this.#log?.close();
    this.#log = undefined;
  }

  #append(entry: Entry): Promise<void> {
    const run = this.#queue.then(async () => {
      await this.#log!.appendFile(`${JSON.stringify(entry)}\n`);
      await this.#log!.datasync();
    });
    this.#queue = run.catch(() => {});
    return run;
  }
}

export function keyOf(tenant: string, id: string): string {
  return `${tenant}\u0000${id}`;
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
