import { raceWithSignal } from '../errors/index.ts';
import { setOwn } from './json-value.ts';
import type { StateDelta, StateSnapshotReply, StateView } from './state-types.ts';

/** Removal notices remembered (so a late delta cannot resurrect a removed state). */
const TOMBSTONE_LIMIT = 10_000;

/** Asks the store for a snapshot; resolves undefined when the request failed. */
export type SnapshotFetch = (
  tenant: string | undefined,
  agentId: string,
  localVersion: number,
  baseVersion: number,
) => Promise<StateSnapshotReply | undefined>;

/** One agent's view as the replica holds it. */
class View {
  version: number;
  tags: readonly string[];
  readonly values: Record<string, unknown>;

  constructor(version: number, tags: readonly string[], values: Record<string, unknown>) {
    this.version = version;
    this.tags = tags;
    this.values = values;
  }
}

/** Deltas held while a snapshot request is on the way. */
class Resync {
  readonly deltas: StateDelta[] = [];
}

/**
 * The replica's bookkeeping, free of the bus: views per tenant and agent, the delta rule
 * (apply onto `baseVersion`, ignore what is not newer, resync on a gap), held deltas, and
 * tombstones of removed states.
 */
export class ReplicaViews {
  readonly #tenants = new Map<string, Map<string, View>>();
  readonly #resyncs = new Map<string, Resync>();
  readonly #tombstones = new Map<string, number>();
  readonly #maxBuffered: number;
  readonly #fetch: SnapshotFetch;
  #waiters: Array<() => void> = [];
  #agents = 0;
  #applied = 0;
  #ignored = 0;
  #gaps = 0;
  #removed = 0;

  constructor(maxBuffered: number, fetch: SnapshotFetch) {
    this.#maxBuffered = maxBuffered;
    this.#fetch = fetch;
  }

  get size(): number {
    return this.#agents;
  }

  stats(): { agents: number; applied: number; ignored: number; gaps: number; removed: number } {
    const { size: agents } = this;
    return {
      agents,
      applied: this.#applied,
      ignored: this.#ignored,
      gaps: this.#gaps,
      removed: this.#removed,
    };
  }

  /** A copy of the view, or undefined. */
  get(tenant: string | undefined, agentId: string): StateView | undefined {
    const view = this.#tenants.get(tenant ?? '')?.get(agentId);
    if (view === undefined) return undefined;
    return { agentId, version: view.version, tags: view.tags, values: { ...view.values } };
  }

  /** Takes a delta from the bus (anything malformed is ignored). */
  delta(tenant: string | undefined, delta: unknown): void {
    if (!isDelta(delta)) {
      this.#ignored++;
      return;
    }
    const key = `${tenant ?? ''}\u0000${delta.agentId}`;
    const resync = this.#resyncs.get(key);
    if (resync === undefined) this.#apply(tenant, key, delta);
    else if (resync.deltas.length < this.#maxBuffered) resync.deltas.push(delta);
    else this.#ignored++;
  }

  /**
   * Takes a view from a paged snapshot (a replica's initial load): kept unless the replica
   * already holds a newer one, saw it removed at a later version, or is resyncing that agent.
   * Returns whether it was kept.
   */
  load(tenant: string | undefined, view: unknown): boolean {
    if (!isView(view)) {
      this.#ignored++;
      return false;
    }
    const key = `${tenant ?? ''}\u0000${view.agentId}`;
    const held = this.#tenants.get(tenant ?? '')?.get(view.agentId);
    const removedAt = this.#tombstones.get(key);
    if (
      this.#resyncs.has(key) ||
      (held !== undefined && held.version >= view.version) ||
      (removedAt !== undefined && removedAt >= view.version)
    ) {
      this.#ignored++;
      return false;
    }
    this.#put(tenant, view.agentId, new View(view.version, view.tags, { ...view.values }));
    this.#tombstones.delete(key);
    return true;
  }

  /** An expiry or deletion notice at `version`: drops the view unless it is newer. */
  remove(tenant: string | undefined, agentId: string, version: number | undefined): void {
    if (version === undefined) return;
    const view = this.#tenants.get(tenant ?? '')?.get(agentId);
    if (view !== undefined && view.version <= version) this.#drop(tenant, agentId);
    const key = `${tenant ?? ''}\u0000${agentId}`;
    this.#tombstones.delete(key);
    this.#tombstones.set(key, version);
    if (this.#tombstones.size > TOMBSTONE_LIMIT) {
      this.#tombstones.delete(this.#tombstones.keys().next().value as string);
    }
  }

  /** Resolves when no snapshot request is outstanding. */
  settled(signal?: AbortSignal): Promise<void> {
    if (this.#resyncs.size === 0) return Promise.resolve();
    return raceWithSignal(new Promise<void>((resolve) => this.#waiters.push(resolve)), signal);
  }

  clear(): void {
    this.#tenants.clear();
    this.#resyncs.clear();
    this.#tombstones.clear();
    this.#agents = 0;
    this.#wake();
  }

  #apply(tenant: string | undefined, key: string, delta: StateDelta): void {
    const view = this.#tenants.get(tenant ?? '')?.get(delta.agentId);
    const current = view?.version ?? 0;
    if (delta.version <= (view?.version ?? this.#tombstones.get(key) ?? 0)) {
      this.#ignored++;
      return;
    }
    if (delta.baseVersion !== current) {
      this.#gaps++;
      const resync = new Resync();
      resync.deltas.push(delta);
      this.#resyncs.set(key, resync);
      void this.#fetch(tenant, delta.agentId, current, delta.baseVersion).then((reply) =>
        this.#resolved(tenant, key, delta.agentId, resync, reply),
      );
      return;
    }
    const target = view ?? this.#put(tenant, delta.agentId, new View(0, delta.tags, {}));
    for (const field of Object.keys(delta.changed)) setOwn(target.values, field, delta.changed[field]);
    for (const field of delta.removed) delete target.values[field];
    target.version = delta.version;
    target.tags = delta.tags;
    this.#tombstones.delete(key);
    this.#applied++;
  }

  #resolved(
    tenant: string | undefined,
    key: string,
    agentId: string,
    resync: Resync,
    reply: StateSnapshotReply | undefined,
  ): void {
    if (this.#resyncs.get(key) !== resync) return;
    this.#resyncs.delete(key);
    if (reply === undefined) {
      this.#ignored += resync.deltas.length; // the next delta retries
    } else {
      const view = this.#tenants.get(tenant ?? '')?.get(agentId);
      if (!reply.found) {
        if (view !== undefined) this.#drop(tenant, agentId);
      } else if (view === undefined || reply.version >= view.version) {
        this.#put(tenant, agentId, new View(reply.version, reply.tags, { ...reply.values }));
        this.#tombstones.delete(key);
      }
      resync.deltas.sort((a, b) => a.version - b.version);
      for (const delta of resync.deltas) this.delta(tenant, delta);
    }
    if (this.#resyncs.size === 0) this.#wake();
  }

  /** Adds or replaces the view. */
  #put(tenant: string | undefined, agentId: string, view: View): View {
    const key = tenant ?? '';
    let agents = this.#tenants.get(key);
    if (agents === undefined) {
      agents = new Map();
      this.#tenants.set(key, agents);
    }
    if (!agents.has(agentId)) this.#agents++;
    agents.set(agentId, view);
    return view;
  }

  #drop(tenant: string | undefined, agentId: string): void {
    const agents = this.#tenants.get(tenant ?? '');
    if (agents === undefined || !agents.delete(agentId)) return;
    if (agents.size === 0) this.#tenants.delete(tenant ?? '');
    this.#agents--;
    this.#removed++;
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

function isDelta(value: unknown): value is StateDelta {
  const d = value as StateDelta | null;
  return (
    typeof d === 'object' &&
    d !== null &&
    typeof d.agentId === 'string' &&
    typeof d.version === 'number' &&
    typeof d.baseVersion === 'number' &&
    typeof d.changed === 'object' &&
    d.changed !== null &&
    Array.isArray(d.removed) &&
    Array.isArray(d.tags)
  );
}

function isView(value: unknown): value is StateView {
  const v = value as StateView | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.agentId === 'string' &&
    typeof v.version === 'number' &&
    Array.isArray(v.tags) &&
    typeof v.values === 'object' &&
    v.values !== null
  );
}
