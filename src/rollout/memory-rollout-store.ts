import { storeUnavailable } from './errors.ts';
import { type RolloutRecord, rolloutKey, type StepStats } from './rollout-record.ts';
import type { RolloutStore, RolloutWatchHandlers, StoredRollout } from './rollout-store.ts';

/**
 * Rollouts in this process (one node, or tests). Records are copied in and out (as a shared
 * store would), and watchers are told synchronously after each write.
 */
export class MemoryRolloutStore implements RolloutStore {
  readonly #records = new Map<string, StoredRollout>();
  /** key → stepId → node → stats. */
  readonly #stats = new Map<string, Map<string, Map<string, StepStats>>>();
  readonly #watchers = new Set<RolloutWatchHandlers>();
  #revision = 0;
  #closed = false;

  async get(tenant: string, definition: string): Promise<StoredRollout | undefined> {
    this.#open('read a rollout');
    return copy(this.#records.get(rolloutKey(tenant, definition)));
  }

  async put(record: RolloutRecord, expected: number): Promise<number | undefined> {
    this.#open('write a rollout');
    const key = rolloutKey(record.tenant, record.definition);
    if ((this.#records.get(key)?.revision ?? 0) !== expected) return undefined;
    const stored = { record: structuredClone(record), revision: ++this.#revision };
    this.#records.set(key, stored);
    this.#tell(record.tenant, record.definition, stored);
    return stored.revision;
  }

  async list(tenant?: string): Promise<StoredRollout[]> {
    this.#open('list rollouts');
    return [...this.#records.values()]
      .filter((s) => tenant === undefined || s.record.tenant === tenant)
      .map((s) => copy(s) as StoredRollout);
  }

  async delete(tenant: string, definition: string): Promise<boolean> {
    this.#open('delete a rollout');
    const key = rolloutKey(tenant, definition);
    this.#stats.delete(key);
    if (!this.#records.delete(key)) return false;
    this.#tell(tenant, definition, undefined);
    return true;
  }

  async purgeTenant(tenant: string): Promise<number> {
    this.#open('delete a tenant’s rollouts');
    const mine = [...this.#records.values()].filter((s) => s.record.tenant === tenant);
    for (const s of mine) await this.delete(tenant, s.record.definition);
    return mine.length;
  }

  async putStats(
    tenant: string,
    definition: string,
    stepId: string,
    node: string,
    stats: StepStats,
  ): Promise<void> {
    this.#open('write rollout stats');
    const key = rolloutKey(tenant, definition);
    const steps = this.#stats.get(key) ?? new Map<string, Map<string, StepStats>>();
    this.#stats.set(key, steps);
    const nodes = steps.get(stepId) ?? new Map<string, StepStats>();
    steps.set(stepId, nodes);
    nodes.set(node, structuredClone(stats));
  }

  async stats(tenant: string, definition: string, stepId: string): Promise<Map<string, StepStats>> {
    this.#open('read rollout stats');
    const nodes = this.#stats.get(rolloutKey(tenant, definition))?.get(stepId);
    return new Map([...(nodes ?? [])].map(([node, s]) => [node, structuredClone(s)]));
  }

  async dropStats(tenant: string, definition: string, stepId?: string): Promise<void> {
    this.#open('delete rollout stats');
    const key = rolloutKey(tenant, definition);
    if (stepId === undefined) this.#stats.delete(key);
    else this.#stats.get(key)?.delete(stepId);
  }

  async watch(handlers: RolloutWatchHandlers): Promise<{ close(): Promise<void> }> {
    this.#open('watch rollouts');
    for (const s of this.#records.values())
      handlers.change({ tenant: s.record.tenant, definition: s.record.definition, stored: copy(s) });
    this.#watchers.add(handlers);
    return { close: async () => void this.#watchers.delete(handlers) };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#watchers.clear();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #tell(tenant: string, definition: string, stored: StoredRollout | undefined): void {
    for (const w of [...this.#watchers]) {
      try {
        w.change({ tenant, definition, stored: copy(stored) });
      } catch {
        // A watcher reports its own failures.
      }
    }
  }

  #open(what: string): void {
    if (this.#closed) throw storeUnavailable(`${what}: it is closed`);
  }
}

const copy = (s: StoredRollout | undefined): StoredRollout | undefined =>
  s === undefined ? undefined : { record: structuredClone(s.record), revision: s.revision };
