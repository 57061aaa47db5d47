import { randomUUID } from 'node:crypto';
import { link, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { KnowledgeStoreLockedError } from './store-errors.ts';

const LOCK = 'lock';
/** Tokens of the locks this process holds: a lock file naming this pid but no held token is stale (pid reuse). */
const held = new Set<string>();

interface Holder {
  pid: number;
  hostname: string;
  token: string;
}

/**
 * Exclusive use of a store directory by one knowledge base, across processes and within one:
 * a `lock` file naming its holder, created atomically (written whole to a temporary file,
 * then hard-linked into place, which fails if one exists). A lock whose process is gone is
 * taken over; one held on another host cannot be checked and is respected. Hand-written:
 * Node has no flock, and the lock libraries judge staleness by age, not by the holder's pid.
 */
export class StoreLock {
  readonly #path: string;
  readonly #token: string;

  private constructor(path: string, token: string) {
    this.#path = path;
    this.#token = token;
  }

  /** Takes the lock of `dir`. @throws KnowledgeStoreLockedError while a live process holds it. */
  static async acquire(dir: string): Promise<StoreLock> {
    const directory = resolve(dir);
    const path = join(directory, LOCK);
    const mine: Holder = { pid: process.pid, hostname: hostname(), token: randomUUID() };
    const temporary = join(directory, `${LOCK}.${mine.token}.tmp`);
    await writeFile(temporary, JSON.stringify(mine));
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await link(temporary, path);
          held.add(mine.token);
          return new StoreLock(path, mine.token);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
        const holder = await readHolder(path);
        if (holder === null) continue; // released in between
        if (isAlive(holder) || attempt >= 4) {
          throw new KnowledgeStoreLockedError(directory, holder.pid, holder.hostname, path);
        }
        await takeOver(path, holder, mine.token);
      }
    } finally {
      await rm(temporary, { force: true });
    }
  }

  /** Removes the lock file if it is still this holder's. */
  async release(): Promise<void> {
    if (!held.delete(this.#token)) return;
    const holder = await readHolder(this.#path);
    if (holder?.token === this.#token) await rm(this.#path, { force: true });
  }
}

/** The holder named in the lock file; `null` when there is none; a placeholder when unreadable. */
async function readHolder(path: string): Promise<Holder | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    const v = JSON.parse(text) as Partial<Holder>;
    if (Number.isSafeInteger(v.pid) && typeof v.hostname === 'string' && typeof v.token === 'string') {
      return v as Holder;
    }
  } catch {}
  // Lock files are linked in whole, so only a crash before the data reached the disk leaves
  // one unreadable: no live holder can be named in it.
  return { pid: 0, hostname: hostname(), token: `unreadable:${text}` };
}

function isAlive(holder: Holder): boolean {
  if (holder.hostname !== hostname()) return true; // cannot tell: respected
  if (holder.pid === process.pid) return held.has(holder.token);
  if (holder.pid <= 0) return false;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}

/**
 * Moves the stale lock aside and checks it was the stale one. If another process replaced it
 * in between (it saw the same stale lock and won), its lock is put back.
 */
async function takeOver(path: string, stale: Holder, token: string): Promise<void> {
  const aside = `${path}.${token}.stale`;
  try {
    await rename(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    const moved = await readHolder(aside);
    if (moved !== null && moved.token !== stale.token) {
      await link(aside, path).catch(() => {}); // a live lock: restored (unless yet another took its place)
    }
  } finally {
    await rm(aside, { force: true });
  }
}
