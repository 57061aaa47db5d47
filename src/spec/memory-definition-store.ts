import {
  type DefinitionStore,
  DefinitionStoreUnavailableError,
  type DefinitionWatch,
  type DefinitionWatchHandlers,
  decodeDefinitionValue,
  definitionChange,
  definitionKey,
  encodeDefinitionValue,
} from './definition-store.ts';

interface Entry {
  /** The stored value; undefined for a delete marker (kept, as a KV bucket keeps one). */
  value: string | undefined;
  revision: number;
}

/** One watch: its entries, delivered one after the other. */
class Watcher implements DefinitionWatch {
  readonly #handlers: DefinitionWatchHandlers;
  readonly #queue: Array<[string, Entry]> = [];
  readonly #onClose: () => void;
  #draining: Promise<void> | undefined;
  #closed = false;

  constructor(handlers: DefinitionWatchHandlers, onClose: () => void) {
    this.#handlers = handlers;
    this.#onClose = onClose;
  }

  push(key: string, entry: Entry): void {
    if (this.#closed) return;
    this.#queue.push([key, entry]);
    this.#draining ??= this.#drain();
  }

  async #drain(): Promise<void> {
    await Promise.resolve(); // never in the writer's call
    while (!this.#closed && this.#queue.length > 0) {
      const [key, entry] = this.#queue.shift()!;
      const change = definitionChange(key, entry.revision, entry.value, this.#handlers);
      try {
        await this.#handlers.change(change);
      } catch {
        // The handler reports its own failures; the watch goes on.
      }
    }
    this.#draining = undefined;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#queue.length = 0;
    this.#onClose();
    await this.#draining;
  }
}

/**
 * The definitions store in memory: one instance shared by the nodes of one process (as a KV
 * bucket is shared by the nodes of a cluster), e.g. in tests through `NodeParts.cluster`. Keeps
 * a delete marker per deleted key, as a bucket does, so a new watch sees the store's head.
 */
export class MemoryDefinitionStore implements DefinitionStore {
  readonly #entries = new Map<string, Entry>();
  readonly #watchers = new Set<Watcher>();
  #revision = 0;
  #closed = false;

  async put(tenant: string, name: string, text: string, format: 'json' | 'yaml'): Promise<number> {
    this.#open('write a definition');
    return this.#write(definitionKey(tenant, name), encodeDefinitionValue(tenant, name, text, format));
  }

  async get(
    tenant: string,
    name: string,
  ): Promise<{ text: string; format: 'json' | 'yaml'; revision: number } | undefined> {
    this.#open('read a definition');
    const key = definitionKey(tenant, name);
    const entry = this.#entries.get(key);
    if (entry?.value === undefined) return undefined;
    const decoded = decodeDefinitionValue(key, entry.value);
    return { text: decoded.text, format: decoded.format, revision: entry.revision };
  }

  async delete(tenant: string, name: string): Promise<boolean> {
    this.#open('delete a definition');
    const key = definitionKey(tenant, name);
    if (this.#entries.get(key)?.value === undefined) return false;
    this.#write(key, undefined);
    return true;
  }

  async purgeTenant(tenant: string): Promise<number> {
    this.#open('delete a tenant’s definitions');
    const prefix = definitionKey(tenant, 'x').slice(0, -1);
    const keys = [...this.#entries]
      .filter(([key, entry]) => key.startsWith(prefix) && entry.value !== undefined)
      .map(([key]) => key);
    for (const key of keys) this.#write(key, undefined);
    return keys.length;
  }

  async head(): Promise<number> {
    this.#open('read its head');
    return this.#revision;
  }

  async watch(handlers: DefinitionWatchHandlers): Promise<DefinitionWatch> {
    this.#open('watch definitions');
    const watcher: Watcher = new Watcher(handlers, () => this.#watchers.delete(watcher));
    this.#watchers.add(watcher);
    const current = [...this.#entries].sort((a, b) => a[1].revision - b[1].revision);
    for (const [key, entry] of current) watcher.push(key, entry);
    return watcher;
  }

  /** Writes any value at any key, as something other than a node might (for tests of refused values). */
  putRaw(key: string, value: string): number {
    this.#open('write a value');
    return this.#write(key, value);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#watchers].map((w) => w.close()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #write(key: string, value: string | undefined): number {
    const entry = { value, revision: ++this.#revision };
    this.#entries.set(key, entry);
    for (const watcher of this.#watchers) watcher.push(key, entry);
    return entry.revision;
  }

  #open(what: string): void {
    if (this.#closed) throw new DefinitionStoreUnavailableError(`${what}: it is closed`);
  }
}
