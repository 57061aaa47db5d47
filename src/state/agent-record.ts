import { StateInvalidError } from './errors.ts';
import { ExpiryEntry } from './expiry-wheel.ts';
import { objectBytes, setOwn } from './json-value.ts';
import { AGENT_ID_PATTERN, type StateSnapshot, type StateView } from './state-types.ts';
import type { TagContext } from './tag-context.ts';

/** How one change moved an agent's relevant view. */
export interface ViewChange {
  /** Fields entering or changing in the view, with their values. */
  delta: Record<string, unknown>;
  /** Fields leaving the view. */
  gone: string[];
  /** Both, by name. */
  published: string[];
}

/**
 * One agent's state inside a store, kept compact: the values, counters for the limits, two
 * versions, and a shared `TagContext` (tags, relevance, TTL). It is its own expiry-wheel entry,
 * so the TTL costs no allocation and no timer.
 */
export class AgentRecord extends ExpiryEntry {
  readonly agentId: string;
  readonly tenant: string | undefined;
  /** Field → frozen JSON value. A plain object (own properties only are read). */
  readonly values: Record<string, unknown> = {};
  keys = 0;
  /** Sum of `entryBytesBound` over the fields; see `bytes`. */
  entryBytes = 0;
  /** Bumped (from the store's sequence) by every change. */
  version = 0;
  /** Version of the last change to the relevant view. */
  viewVersion = 0;
  context: TagContext;
  /** `agent.<id>.state_delta`, built on first publish and kept (the bus hashes it once). */
  deltaTopic: string | undefined = undefined;

  constructor(agentId: string, tenant: string | undefined, context: TagContext) {
    super();
    this.agentId = agentId;
    this.tenant = tenant;
    this.context = context;
  }

  /** UTF-8 bytes of `JSON.stringify(values)`, an upper bound (see `jsonBytesBound`). */
  get bytes(): number {
    return objectBytes(this.keys, this.entryBytes);
  }

  /**
   * Applies a validated patch plan. Returns what the relevant view gains (`delta`) and loses
   * (`gone`), and `published`: both field lists, as carried by the delta.
   */
  apply(changed: readonly string[], values: readonly unknown[], removed: readonly string[]): ViewChange {
    const target = this.values;
    const relevant = this.context.relevant;
    const change: ViewChange = { delta: {}, gone: [], published: [] };
    for (let i = 0; i < changed.length; i++) {
      const key = changed[i] as string;
      setOwn(target, key, values[i]);
      if (relevant.has(key)) {
        setOwn(change.delta, key, values[i]);
        change.published.push(key);
      }
    }
    for (const key of removed) {
      delete target[key];
      if (relevant.has(key)) change.gone.push(key);
    }
    if (change.gone.length > 0) change.published.push(...change.gone);
    return change;
  }

  /** Moves to a new tag context: fields that became relevant enter the view, the others leave it. */
  retag(context: TagContext): ViewChange {
    const before = this.context.relevant;
    const after = context.relevant;
    const change: ViewChange = { delta: {}, gone: [], published: [] };
    for (const key of Object.keys(this.values)) {
      const was = before.has(key);
      if (after.has(key) === was) continue;
      if (was) change.gone.push(key);
      else {
        setOwn(change.delta, key, this.values[key]);
        change.published.push(key);
      }
    }
    if (change.gone.length > 0) change.published.push(...change.gone);
    this.context = context;
    return change;
  }

  /** The whole state (values copied; nested values are frozen and shared). */
  snapshot(): StateSnapshot {
    const values: Record<string, unknown> = {};
    for (const key of Object.keys(this.values)) setOwn(values, key, this.values[key]);
    return {
      agentId: this.agentId,
      tenant: this.tenant,
      version: this.version,
      viewVersion: this.viewVersion,
      tags: this.context.tags,
      values,
      expiresAt: this.deadline,
      ttlRule: this.context.ttlRule,
    };
  }

  /** The relevant view: values restricted to the fields relevant to the current tags. */
  view(): StateView {
    const relevant = this.context.relevant;
    const values: Record<string, unknown> = {};
    for (const key of Object.keys(this.values)) if (relevant.has(key)) setOwn(values, key, this.values[key]);
    return { agentId: this.agentId, version: this.viewVersion, tags: this.context.tags, values };
  }
}

/** @throws StateInvalidError unless `agentId` is one topic token of at most 128 characters. */
export function assertAgentId(agentId: string): void {
  if (typeof agentId !== 'string' || !AGENT_ID_PATTERN.test(agentId))
    throw new StateInvalidError(
      String(agentId),
      'agentId',
      'agent ids are 1-128 letters, digits, _, -, : or @ (one topic token)',
    );
}
