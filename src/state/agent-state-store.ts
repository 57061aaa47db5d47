import { EventEmitter } from 'node:events';
import type { Bus, Envelope, Subscription } from '../bus/index.ts';
import { currentTenantId, runInTenant, tenantContext, withoutTenant, withTenant } from '../context/index.ts';
import { HybridClock } from '../crdt/index.ts';
import { type AgentRecord, assertAgentId } from './agent-record.ts';
import { AgentRegistry, ALL_TENANTS } from './agent-registry.ts';
import { type CrdtReplica, crdtOf, type StateCrdtKind, type StateCrdtKinds } from './crdt-fields.ts';
import { StateInvalidError, StateLimitError, StateStoreClosedError } from './errors.ts';
import { ExpiryWheel } from './expiry-wheel.ts';
import { objectBytes } from './json-value.ts';
import { exactEntryBytes, planPatch } from './patch.ts';
import { SnapshotPager } from './snapshot-pages.ts';
import { StatePublisher } from './state-publisher.ts';
import { parseStateSyncConfig, type StateSyncConfig, type StateSyncConfigInput } from './state-schema.ts';
import {
  type ResolvedStateStoreOptions,
  resolveStateStoreOptions,
  type StateStoreOptions,
} from './state-store-options.ts';
import {
  deletedTopic,
  expiredTopic,
  SNAPSHOTS_TOPIC,
  type StateDeletedEvent,
  type StateExpiredEvent,
  type StateSnapshot,
  type StateSnapshotReply,
  type StateStoreEvents,
  type StateStoreStats,
  type StateUpdate,
  type StateView,
} from './state-types.ts';
import { normalizeTags, TagContexts } from './tag-context.ts';

const SNAPSHOT_PREFIX = 'agent.'.length;
const SNAPSHOT_SUFFIX = '.state_snapshot'.length;

/**
 * Per-agent state that publishes only what matters. Each agent (per tenant: the tenant is
 * `currentTenantId()` at call time) has JSON values and context tags; the configuration maps tags
 * to relevant fields and to a TTL. A change publishes a `StateDelta` on `agent.<id>.state_delta`
 * with just the changed fields relevant to the current tags; consumers rebuild the relevant view
 * from deltas plus a snapshot request on `agent.<id>.state_snapshot` (see `StateReplica`).
 *
 * Every touch (`set`, `setTags`) moves the state's deadline to now + the TTL its tags give.
 * Expired states are purged in batches from one shared, unref'd interval driving a timing
 * wheel — no timer per agent — and announced as `expired` and on `agent.<id>.state_expired`.
 * A state already past its deadline is treated as expired on access, before the purge runs.
 *
 * The rules (relevance, TTL, limits) are the store's `config`, or, for an agent whose
 * `configFor` gives its own (the node passes its definition's `state` section), those.
 */
export class AgentStateStore {
  readonly events = new EventEmitter<StateStoreEvents>();
  readonly config: StateSyncConfig;
  readonly #bus: Bus | undefined;
  readonly #publisher: StatePublisher;
  readonly #clock: () => number;
  readonly #contexts: TagContexts;
  readonly #configFor: ResolvedStateStoreOptions['configFor'];
  /** This store's replica id and clock, for the CRDT fields it writes. */
  readonly #replica: CrdtReplica;
  /** The contexts of each configuration `configFor` returned, held as long as it is. */
  readonly #rules = new WeakMap<object, TagContexts>();
  readonly #wheel: ExpiryWheel<AgentRecord>;
  readonly #registry = new AgentRegistry();
  readonly #timer: NodeJS.Timeout;
  #subscription: Promise<Subscription | undefined> | undefined;
  #pages: Promise<Subscription | undefined> | undefined;
  readonly #pager: SnapshotPager;
  #closing: Promise<void> | undefined;
  #sequence = 0;
  #updates = 0;
  #expired = 0;
  #limitRejections = 0;
  #snapshots = 0;

  /** Prefer `createStateStore`, which also starts answering snapshot requests. */
  constructor(options?: StateStoreOptions) {
    const o = resolveStateStoreOptions(options);
    this.config = o.config;
    this.#bus = o.bus;
    this.#publisher = new StatePublisher(o.bus, this.events);
    this.#clock = o.clock;
    this.#contexts = new TagContexts(o.config);
    this.#configFor = o.configFor;
    this.#replica = { node: o.node, clock: new HybridClock({ node: o.node, wallClock: o.clock }) };
    this.#pager = new SnapshotPager(
      (tenant, agentId) => this.#registry.walk(tenant === undefined ? ALL_TENANTS : tenant, agentId),
      this.#clock,
    );
    this.#wheel = new ExpiryWheel<AgentRecord>({
      tickMs: o.tickMs,
      maxPerAdvance: o.maxExpiriesPerTick,
      now: o.clock(),
    });
    // Made outside any tenant: a timer keeps the async context it was created in.
    this.#timer = withoutTenant(() => setInterval(() => this.purgeExpired(), o.tickMs));
    this.#timer.unref();
  }

  /** Agents with state (those past their deadline but not yet purged included). */
  get size(): number {
    return this.#registry.agents;
  }

  /**
   * Subscribes to `agent.*.state_snapshot` and answers each request with the agent's relevant
   * view (`StateSnapshotReply`), looked up in the request envelope's tenant. Idempotent; no-op
   * without a bus. Resolves once the subscription is in place.
   */
  async listen(): Promise<void> {
    const bus = this.#bus;
    if (bus === undefined || this.#closing !== undefined) return;
    this.#subscription ??= bus.subscribe('agent.*.state_snapshot', (message) => this.#answer(message));
    this.#pages ??= bus.subscribe(SNAPSHOTS_TOPIC, (message) => {
      this.#snapshots++;
      return this.#pager.page(message.tenant, message.payload);
    });
    await Promise.all([this.#subscription, this.#pages]);
  }

  /**
   * Merges `patch` into the agent's state: a value replaces the field (objects are not merged),
   * `null` deletes it, `undefined` is skipped. Changes bump the version and publish a delta of
   * the changed fields relevant to the current tags (none relevant: no delta — except for a new
   * state, whose first delta announces that its view exists). Every call, changing or not,
   * refreshes the TTL. Nothing is applied when it throws.
   * @throws StateInvalidError (`STATE_INVALID`) for a bad id, field name or non-JSON value.
   * @throws StateLimitError (`STATE_LIMIT_EXCEEDED`) past `limits.maxKeys` or `limits.maxBytes`.
   */
  set(agentId: string, patch: Record<string, unknown>): StateUpdate {
    this.#assertOpen();
    const tenant = currentTenantId();
    const now = this.#clock();
    let record = this.#live(tenant, agentId, now);
    if (record === undefined) assertAgentId(agentId);
    const rules = record?.context.rules ?? this.#rulesFor(agentId);
    const plan = planPatch(agentId, record?.values, record?.keys ?? 0, record?.entryBytes ?? 0, patch, {
      kinds: rules.crdt,
      replica: this.#replica,
    });
    const { changed, values, removed, keys } = plan;
    const limits = rules.limits;
    if (keys > limits.maxKeys) this.#refuse(agentId, 'maxKeys', limits.maxKeys, keys);
    let entries = plan.entries;
    if (objectBytes(keys, entries) > limits.maxBytes) {
      // The cheap bound is over: measure exactly before refusing.
      entries = exactEntryBytes(record?.values, plan);
      const bytes = objectBytes(keys, entries);
      if (bytes > limits.maxBytes) this.#refuse(agentId, 'maxBytes', limits.maxBytes, bytes);
    }

    if (changed.length === 0 && removed.length === 0) {
      if (record !== undefined) this.#wheel.schedule(record, now + record.context.ttlMs);
      return noChange(record);
    }
    const created = record === undefined;
    record ??= this.#registry.create(agentId, tenant, rules.empty);
    const { delta, published, gone } = record.apply(changed, values, removed);
    this.#registry.account(record, keys, entries);
    this.#updates++;
    const sent = this.#bump(record, delta, gone, now, created || published.length > 0);
    this.#wheel.schedule(record, now + record.context.ttlMs);
    return { version: record.version, changed, removed, published, sent };
  }

  /**
   * Changes a field the state's rules declare as a CRDT of `kind` (their `crdt` section):
   * `op` gets the field's CRDT (empty if unset), owned by this store's replica id, and returns
   * the delta of its change, which is merged as by `set`:
   * `state.update('robot-7', 'visits', 'g-counter', (c) => c.increment())`.
   * @throws StateInvalidError when the field is not declared as a CRDT of `kind`, and what
   * `op` or `set` throws (nothing is applied then).
   */
  update<K extends StateCrdtKind>(
    agentId: string,
    field: string,
    kind: K,
    op: (crdt: StateCrdtKinds[K]) => StateCrdtKinds[K],
  ): StateUpdate {
    this.#assertOpen();
    assertAgentId(agentId);
    const record = this.#live(currentTenantId(), agentId, this.#clock());
    const rules = record?.context.rules ?? this.#rulesFor(agentId);
    const declared = Object.hasOwn(rules.crdt, field) ? rules.crdt[field] : undefined;
    if (declared !== kind)
      throw new StateInvalidError(
        agentId,
        field,
        declared === undefined
          ? `not a CRDT field (declare it in the state rules' crdt section)`
          : `a ${declared} field, not a ${kind}`,
      );
    const crdt = crdtOf(agentId, field, kind, record?.values[field], this.#replica);
    return this.set(agentId, { [field]: op(crdt).state() });
  }

  /**
   * Replaces the agent's context tags, which decide relevance and TTL (creating an empty state
   * if it had none). When the tag set changes, the version bumps and a delta is published
   * (always, as tags are part of the view) carrying the current values of fields that became
   * relevant in `changed`, and the fields no longer relevant in `removed` — so a consumer's
   * view matches the new tags. The TTL is refreshed from the new tags either way.
   * @throws StateInvalidError for a bad id or tag (a lowercase letter then up to 63 of a-z, 0-9, _).
   */
  setTags(agentId: string, tags: readonly string[]): StateUpdate {
    this.#assertOpen();
    assertAgentId(agentId);
    const sorted = normalizeTags(agentId, tags);
    const tenant = currentTenantId();
    const now = this.#clock();
    const existing = this.#live(tenant, agentId, now);
    if (existing !== undefined && existing.context.tags.join(',') === sorted.join(',')) {
      this.#wheel.schedule(existing, now + existing.context.ttlMs);
      return noChange(existing);
    }
    const context = (existing?.context.rules ?? this.#rulesFor(agentId)).get(sorted);
    const record = existing ?? this.#registry.create(agentId, tenant, context);
    const { delta, published, gone } = record.retag(context);
    this.#updates++;
    const sent = this.#bump(record, delta, gone, now, true);
    this.#wheel.schedule(record, now + context.ttlMs);
    return { version: record.version, changed: [], removed: [], published, sent };
  }

  /** The agent's whole state, or undefined (none, expired, or another tenant's). */
  get(agentId: string): StateSnapshot | undefined {
    const record = this.#live(currentTenantId(), agentId, this.#clock());
    return record?.snapshot();
  }

  /** The agent's relevant view — what a replica rebuilds from deltas — or undefined. */
  view(agentId: string): StateView | undefined {
    const record = this.#live(currentTenantId(), agentId, this.#clock());
    return record?.view();
  }

  /** Deletes the agent's state and publishes `agent.<id>.state_deleted`; false if it had none. */
  delete(agentId: string): boolean {
    this.#assertOpen();
    const record = this.#live(currentTenantId(), agentId, this.#clock());
    if (record === undefined) return false;
    this.#wheel.cancel(record);
    this.#registry.remove(record);
    const event: StateDeletedEvent = { agentId, version: ++this.#sequence, at: this.#clock() };
    this.#publisher.publish(deletedTopic(agentId), event, record.tenant);
    return true;
  }

  /**
   * Deletes every state of the tenant (tenant deletion), publishing `state_deleted` for each
   * in that tenant, so its replicas drop the views too. Idempotent; returns how many.
   */
  async purgeTenant(tenantId: string): Promise<{ states: number }> {
    if (this.#closing !== undefined) return { states: 0 };
    const records = this.#registry.ofTenant(tenantId);
    this.#pager.forgetTenant(tenantId);
    withTenant(tenantId, () => {
      for (const record of records) {
        this.#wheel.cancel(record);
        this.#registry.remove(record);
        const event: StateDeletedEvent = {
          agentId: record.agentId,
          version: ++this.#sequence,
          at: this.#clock(),
        };
        this.#publisher.publish(deletedTopic(record.agentId), event, tenantId);
      }
    });
    return { states: records.length };
  }

  /**
   * Purges states whose deadline is at or before `now` (default: the clock), at most
   * `maxExpiriesPerTick`, emitting `expired` and publishing on `agent.<id>.state_expired` for
   * each. The store calls it every `tickMs`; call it yourself with an injected clock. Returns
   * how many were purged.
   */
  purgeExpired(now: number = this.#clock()): number {
    if (this.#closing !== undefined) return 0;
    const batch = this.#wheel.advance(now);
    for (const record of batch) this.#expire(record, false);
    return batch.length;
  }

  stats(): StateStoreStats {
    return {
      agents: this.#registry.agents,
      keys: this.#registry.keys,
      bytes: this.#registry.bytes,
      updates: this.#updates,
      deltasPublished: this.#publisher.deltas,
      expired: this.#expired,
      limitRejections: this.#limitRejections,
      snapshotsServed: this.#snapshots,
      publishErrors: this.#publisher.errors,
    };
  }

  /** Stops the purge interval and the snapshot responder, drops all state and listeners. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    clearInterval(this.#timer);
    this.#wheel.clear();
    this.#registry.clear();
    this.events.removeAllListeners();
    this.#pager.clear();
    const subscriptions = [this.#subscription, this.#pages].map((s) => s?.catch(() => undefined));
    for (const subscription of await Promise.all(subscriptions)) await subscription?.close();
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw new StateStoreClosedError();
  }

  /** The rules a new state of `agentId` gets: its own from `configFor`, else the store's. */
  #rulesFor(agentId: string): TagContexts {
    const own = this.#configFor?.(agentId);
    if (own === undefined || own === this.config) return this.#contexts;
    let rules = this.#rules.get(own);
    if (rules === undefined) {
      rules = new TagContexts(
        parseStateSyncConfig(own as StateSyncConfigInput, `the state rules of ${agentId}`),
      );
      this.#rules.set(own, rules);
    }
    return rules;
  }

  #refuse(agentId: string, limit: 'maxKeys' | 'maxBytes', max: number, actual: number): never {
    this.#limitRejections++;
    throw new StateLimitError(agentId, limit, max, actual);
  }

  /** The record, unless absent or past its deadline (then it is expired now). */
  #live(tenant: string | undefined, agentId: string, now: number): AgentRecord | undefined {
    const record = this.#registry.find(tenant, agentId);
    if (record === undefined || record.deadline > now) return record;
    this.#expire(record, true);
    return undefined;
  }

  /** Expires the record, announcing it in the tenant that owns it, whoever's context this runs in. */
  #expire(record: AgentRecord, scheduled: boolean): void {
    const expire = scheduled ? this.#expireScheduled : this.#expireDue;
    if (record.tenant === undefined) withoutTenant(() => expire(record));
    else runInTenant(tenantContext(record.tenant), expire, record);
  }

  // Bound once, so expiring a batch allocates no closure per record.
  readonly #expireScheduled = (record: AgentRecord): void => this.#expireHere(record, true);
  readonly #expireDue = (record: AgentRecord): void => this.#expireHere(record, false);

  #expireHere(record: AgentRecord, scheduled: boolean): void {
    const expiredAt = record.deadline;
    if (scheduled) this.#wheel.cancel(record);
    this.#registry.remove(record);
    this.#expired++;
    const event: StateExpiredEvent = {
      agentId: record.agentId,
      tenant: record.tenant,
      version: record.version,
      expiredAt,
      ttlRule: record.context.ttlRule,
    };
    this.events.emit('expired', event);
    this.#publisher.publish(expiredTopic(record.agentId), event, record.tenant);
  }

  /** Bumps the version; when the relevant view changed, its version too, and publishes the delta. */
  #bump(
    record: AgentRecord,
    changed: Record<string, unknown>,
    removed: string[],
    now: number,
    view: boolean,
  ) {
    record.version = ++this.#sequence;
    if (!view) return undefined;
    const baseVersion = record.viewVersion;
    record.viewVersion = record.version;
    return this.#publisher.delta(record, baseVersion, changed, removed, now);
  }

  #answer(message: Envelope): StateSnapshotReply {
    const agentId = message.topic.slice(SNAPSHOT_PREFIX, message.topic.length - SNAPSHOT_SUFFIX);
    this.#snapshots++;
    const record = this.#live(message.tenant, agentId, this.#clock());
    return record === undefined
      ? { agentId, found: false }
      : { ...record.view(), found: true, expiresAt: record.deadline };
  }
}

function noChange(record: AgentRecord | undefined): StateUpdate {
  return { version: record?.version ?? 0, changed: [], removed: [], published: [], sent: undefined };
}

/**
 * Creates a state store and, when it has a bus, starts answering snapshot requests.
 * @throws InvalidOptionsError for bad options, StateConfigInvalidError for a bad `config`.
 */
export async function createStateStore(options?: StateStoreOptions): Promise<AgentStateStore> {
  const store = new AgentStateStore(options);
  try {
    await store.listen();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}
