import { EventEmitter } from 'node:events';
import { z } from 'zod';
import type { Bus, Envelope, Subscription } from '../bus/index.ts';
import { currentTenantId } from '../context/index.ts';
import { parseOptions } from '../errors/index.ts';
import { StateInvalidError } from './errors.ts';
import { ReplicaViews } from './replica-views.ts';
import {
  AGENT_ID_PATTERN,
  SNAPSHOTS_TOPIC,
  type StateSnapshotPage,
  type StateSnapshotReply,
  type StateView,
  snapshotTopic,
} from './state-types.ts';

/** Options of `createStateReplica`. */
export interface StateReplicaOptions {
  bus: Bus;
  /** Follow only this agent. Default: every agent (`agent.*.state_delta`). */
  agentId?: string;
  /** Timeout of a snapshot request, ms. Default: the bus's `requestTimeoutMs`. */
  requestTimeoutMs?: number;
  /** Deltas held per agent while its snapshot is on the way; past it they are dropped
   * (the next delta then shows a gap and resyncs again). Default 1024. */
  maxBufferedDeltas?: number;
  /** Buffer of each bus subscription (see `SubscribeOptions.buffer`). Default 1024. */
  buffer?: number;
  /**
   * Whether `start()` loads the views that already exist, page by page from
   * `state.snapshots`, so a replica started after the writes holds them at once. Default true.
   */
  initialLoad?: boolean;
}

/** Counters of a replica. */
export interface StateReplicaStats {
  agents: number;
  /** Deltas applied onto a view. */
  applied: number;
  /** Deltas dropped as already seen, for a removed state, or over `maxBufferedDeltas`. */
  ignored: number;
  /** Gaps found (a delta whose `baseVersion` is not the local version). */
  gaps: number;
  /** Snapshots received. */
  snapshots: number;
  /** Views dropped on an expiry or deletion notice, or a not-found snapshot. */
  removed: number;
  /** Views taken from the initial load. */
  loaded: number;
}

/** Events of a replica. */
export interface StateReplicaEvents {
  /** A delta did not follow the local version; a snapshot was requested. */
  gap: [{ agentId: string; tenant: string | undefined; localVersion: number; baseVersion: number }];
  /** A snapshot arrived and the buffered deltas were replayed onto it. */
  resynced: [{ agentId: string; tenant: string | undefined; version: number; found: boolean }];
  /** A snapshot request failed (timeout, no responder); the next delta retries. */
  resyncFailed: [{ agentId: string; tenant: string | undefined; error: unknown }];
  /** The initial load failed (no store answering, a timeout); the replica goes on from deltas. */
  loadFailed: [{ error: unknown }];
}

const schema = z.object({
  bus: z.custom<Bus>((v) => typeof v === 'object' && v !== null && 'request' in v, {
    message: 'expected a Bus (createBus())',
  }),
  agentId: z.string().regex(AGENT_ID_PATTERN, 'one topic token of at most 128 characters').optional(),
  requestTimeoutMs: z.number().int().min(1).max(3_600_000).optional(),
  maxBufferedDeltas: z.number().int().min(0).max(1_000_000).optional(),
  buffer: z.number().int().min(1).max(10_000_000).optional(),
  initialLoad: z.boolean().optional(),
});

/**
 * The consumer side of `AgentStateStore`: rebuilds agents' relevant views from the deltas on
 * `agent.<id>.state_delta`. A delta applies when its `baseVersion` is the local version; older
 * ones are ignored; any other is a gap, answered by a snapshot request on
 * `agent.<id>.state_snapshot` (deltas arriving meanwhile are held and replayed onto it). Views
 * are dropped on `state_expired` / `state_deleted`. Views are kept per tenant, as in the store.
 */
export class StateReplica {
  readonly events = new EventEmitter<StateReplicaEvents>();
  readonly #bus: Bus;
  readonly #agentId: string;
  readonly #timeout: number | undefined;
  readonly #buffer: number;
  readonly #views: ReplicaViews;
  readonly #abort = new AbortController();
  #subscriptions: Subscription[] = [];
  #closing: Promise<void> | undefined;
  #snapshots = 0;
  #loaded = 0;
  readonly #initialLoad: boolean;

  /** Prefer `createStateReplica`, which also subscribes. @throws InvalidOptionsError */
  constructor(options: StateReplicaOptions) {
    const o = parseOptions('createStateReplica', schema, options);
    this.#bus = o.bus;
    this.#agentId = o.agentId ?? '*';
    this.#timeout = o.requestTimeoutMs;
    this.#buffer = o.buffer ?? 1024;
    this.#initialLoad = o.initialLoad ?? true;
    this.#views = new ReplicaViews(o.maxBufferedDeltas ?? 1024, (tenant, agentId, local, base) =>
      this.#resync(tenant, agentId, local, base),
    );
  }

  /**
   * Subscribes to the deltas and removal notices, then (unless `initialLoad: false`) loads the
   * views that already exist — the current tenant's, or every tenant's outside any tenant.
   * Resolves once subscribed and loaded; a failed load is emitted as `loadFailed`. Call once.
   */
  async start(): Promise<void> {
    const options = { buffer: this.#buffer, signal: this.#abort.signal };
    const topic = (kind: string) => `agent.${this.#agentId}.${kind}`;
    const subscribe = (kind: string, handler: (message: Envelope) => void) =>
      this.#bus.subscribe(topic(kind), handler, options).then((s) => {
        this.#subscriptions.push(s as Subscription);
      });
    await Promise.all([
      subscribe('state_delta', (m) => this.#views.delta(m.tenant, m.payload)),
      subscribe('state_expired', (m) => this.#views.remove(m.tenant, agentIdOf(m), versionOf(m))),
      subscribe('state_deleted', (m) => this.#views.remove(m.tenant, agentIdOf(m), versionOf(m))),
    ]);
    if (this.#initialLoad) await this.#load();
  }

  /** Pages through `state.snapshots` into the views (subscribed first, so nothing falls between). */
  async #load(): Promise<void> {
    const own = currentTenantId();
    const agentId = this.#agentId === '*' ? undefined : this.#agentId;
    let cursor: string | undefined;
    try {
      do {
        const reply = await this.#bus.request<StateSnapshotPage>(
          SNAPSHOTS_TOPIC,
          { cursor, agentId },
          { timeout: this.#timeout, signal: this.#abort.signal },
        );
        const page = reply.payload as Partial<StateSnapshotPage> | null;
        if (!Array.isArray(page?.views) || (page.cursor !== undefined && typeof page.cursor !== 'string')) {
          throw new StateInvalidError('*', 'state.snapshots', 'the reply is not a snapshot page');
        }
        for (const view of page.views) {
          // A tenant's replica keeps only its tenant's views, whatever a reply says.
          const tenant = own ?? (typeof view?.tenant === 'string' ? view.tenant : undefined);
          if (own !== undefined && view?.tenant !== own) continue;
          if (this.#views.load(tenant, view)) this.#loaded++;
        }
        cursor = page.cursor;
      } while (cursor !== undefined);
    } catch (error) {
      if (this.#closing === undefined) this.events.emit('loadFailed', { error });
    }
  }

  /** The agent's relevant view in the current tenant (a copy), or undefined. */
  get(agentId: string): StateView | undefined {
    return this.#views.get(currentTenantId(), agentId);
  }

  /** Views held, over all tenants. */
  get size(): number {
    return this.#views.size;
  }

  stats(): StateReplicaStats {
    return { ...this.#views.stats(), snapshots: this.#snapshots, loaded: this.#loaded };
  }

  /** Resolves when no snapshot request is outstanding. @throws AbortedError if `signal` fires. */
  settled(signal?: AbortSignal): Promise<void> {
    return this.#views.settled(signal);
  }

  /** Unsubscribes, abandons snapshot requests, drops views and listeners. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    this.#abort.abort();
    await Promise.allSettled(this.#subscriptions.map((s) => s.close()));
    this.#views.clear();
    this.events.removeAllListeners();
  }

  async #resync(
    tenant: string | undefined,
    agentId: string,
    localVersion: number,
    baseVersion: number,
  ): Promise<StateSnapshotReply | undefined> {
    this.events.emit('gap', { agentId, tenant, localVersion, baseVersion });
    try {
      const reply = await this.#bus.request<StateSnapshotReply>(
        snapshotTopic(agentId),
        { agentId },
        { tenant, timeout: this.#timeout, signal: this.#abort.signal },
      );
      this.#snapshots++;
      const snapshot = reply.payload;
      this.events.emit('resynced', {
        agentId,
        tenant,
        version: snapshot.found ? snapshot.version : 0,
        found: snapshot.found,
      });
      return snapshot;
    } catch (error) {
      if (this.#closing === undefined) this.events.emit('resyncFailed', { agentId, tenant, error });
      return undefined;
    }
  }
}

function agentIdOf(message: Envelope): string {
  return message.topic.split('.')[1] as string;
}

function versionOf(message: Envelope): number | undefined {
  const version = (message.payload as { version?: unknown } | null)?.version;
  return typeof version === 'number' ? version : undefined;
}

/**
 * Creates a replica and subscribes it.
 * @throws InvalidOptionsError for bad options.
 */
export async function createStateReplica(options: StateReplicaOptions): Promise<StateReplica> {
  const replica = new StateReplica(options);
  try {
    await replica.start();
  } catch (error) {
    await replica.close();
    throw error;
  }
  return replica;
}
