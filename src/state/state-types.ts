/** Agent ids name a topic token: 1–128 letters, digits, `_`, `-`, `:` or `@`. */
export const AGENT_ID_PATTERN = /^[A-Za-z0-9_\-:@]{1,128}$/;

/** Topic of an agent's deltas: `agent.<id>.state_delta`. */
export const deltaTopic = (agentId: string): string => `agent.${agentId}.state_delta`;
/** Topic (request/reply) a store answers snapshot requests on: `agent.<id>.state_snapshot`. */
export const snapshotTopic = (agentId: string): string => `agent.${agentId}.state_snapshot`;
/**
 * Topic (request/reply) a store answers paged snapshot requests on: every view of the
 * requester's tenant (every tenant's for a request without one), `StateSnapshotPage` per reply.
 * Request `{ cursor?, agentId?, limit? }`; send the reply's `cursor` back for the next page.
 */
export const SNAPSHOTS_TOPIC = 'state.snapshots';
/** Topic an agent's expiry is announced on: `agent.<id>.state_expired`. */
export const expiredTopic = (agentId: string): string => `agent.${agentId}.state_expired`;
/** Topic an agent's explicit deletion is announced on: `agent.<id>.state_deleted`. */
export const deletedTopic = (agentId: string): string => `agent.${agentId}.state_deleted`;

/** What a `set` or `setTags` did. */
export interface StateUpdate {
  /** The agent's version after the call (unchanged when nothing changed; 0 for no state). */
  version: number;
  /** Fields given a new value. */
  changed: string[];
  /** Fields deleted (set to null). */
  removed: string[];
  /** Fields carried in the published delta (empty when nothing relevant changed). */
  published: string[];
  /** Resolves once the bus took the delta; undefined when none was published. Rejects with the
   * publish error (which is also emitted as `publishError`). Await it for backpressure. */
  sent: Promise<void> | undefined;
}

/**
 * Payload on `agent.<id>.state_delta`: how the agent's *relevant view* (its values restricted
 * to the fields relevant to its current tags, plus the tags) changed. Apply it onto a view at
 * `baseVersion`; any other local version means a delta was missed — request a snapshot.
 */
export interface StateDelta {
  agentId: string;
  /** The view's version after this delta. Versions only grow, across all agents of a store. */
  version: number;
  /** The view's version this delta applies onto (0: onto an empty view). */
  baseVersion: number;
  /** Fields that entered the view or changed in it, with their values. */
  changed: Record<string, unknown>;
  /** Fields that left the view: deleted, or no longer relevant after a tag change. */
  removed: string[];
  /** The agent's tags after this delta, sorted. */
  tags: readonly string[];
  /** Store clock time of the change, ms. */
  at: number;
}

/** An agent's relevant view: what consumers rebuilding from deltas and snapshots hold. */
export interface StateView {
  agentId: string;
  /** Version of the last change to the view (the last delta's `version`). */
  version: number;
  tags: readonly string[];
  /** Only the fields relevant to `tags`. */
  values: Record<string, unknown>;
}

/** Reply on `agent.<id>.state_snapshot`: the relevant view, or not found (also for another tenant's agent). */
export type StateSnapshotReply =
  | { agentId: string; found: false }
  | (StateView & { found: true; expiresAt: number });

/** Reply on `state.snapshots`: a page of views; `cursor` is absent on the last page. */
export interface StateSnapshotPage {
  views: Array<StateView & { tenant: string | undefined; expiresAt: number }>;
  cursor?: string;
}

/** The whole state of one agent, from `store.get`. */
export interface StateSnapshot {
  agentId: string;
  tenant: string | undefined;
  /** Bumped by every change, relevant or not. */
  version: number;
  /** Version of the last change to the relevant view (see `StateView.version`). */
  viewVersion: number;
  tags: readonly string[];
  /** Every field (a copy; nested values are frozen). */
  values: Record<string, unknown>;
  /** When the state expires unless touched, ms on the store's clock. */
  expiresAt: number;
  /** The TTL rule that set `expiresAt` (`default` when none matched). */
  ttlRule: string;
}

/** Emitted as `expired` and published on `agent.<id>.state_expired` when a state's TTL ran out. */
export interface StateExpiredEvent {
  agentId: string;
  tenant: string | undefined;
  version: number;
  /** The deadline that passed, ms on the store's clock. */
  expiredAt: number;
  ttlRule: string;
}

/** Published on `agent.<id>.state_deleted` after `store.delete`. */
export interface StateDeletedEvent {
  agentId: string;
  version: number;
  at: number;
}

/** Counters of a state store. */
export interface StateStoreStats {
  /** Agents with live state. */
  agents: number;
  /** Fields over all agents. */
  keys: number;
  /** UTF-8 JSON bytes over all agents' states: an upper bound, exact for strings, booleans,
   * null and integers; other numbers count 25 bytes (the limit check measures exactly). */
  bytes: number;
  /** Successful `set`/`setTags` calls that changed something. */
  updates: number;
  /** Deltas handed to the bus. */
  deltasPublished: number;
  /** States purged because their TTL ran out. */
  expired: number;
  /** Updates refused with `STATE_LIMIT_EXCEEDED`. */
  limitRejections: number;
  /** Snapshot requests answered. */
  snapshotsServed: number;
  /** Publishes the bus refused. */
  publishErrors: number;
}

/** Events of a state store. */
export interface StateStoreEvents {
  /** A state's TTL ran out and it was purged. */
  expired: [StateExpiredEvent];
  /** The bus refused a delta or an expiry notice (the state change itself stands). */
  publishError: [{ topic: string; error: unknown }];
}
