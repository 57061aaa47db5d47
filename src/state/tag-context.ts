import type { StateCrdtKind } from './crdt-fields.ts';
import { StateInvalidError } from './errors.ts';
import { type StateSyncConfig, TAG_PATTERN } from './state-schema.ts';
import { type TtlDecision, TtlPolicy } from './ttl-policy.ts';

/** Most tags one agent may carry at once. */
export const MAX_TAGS = 64;
/** Distinct tag sets whose contexts are cached; past it, contexts are built per call. */
const CACHE_LIMIT = 4_096;

/**
 * What a set of context tags implies, computed once per distinct set and shared by every
 * agent carrying it: the fields that matter (relevance) and the TTL.
 */
export class TagContext {
  /** Sorted, distinct, frozen. */
  readonly tags: readonly string[];
  /** Union of the tags' relevant fields, plus `alwaysRelevant`. */
  readonly relevant: ReadonlySet<string>;
  readonly ttlMs: number;
  /** Name of the TTL rule that decided (`default` when none matched). */
  readonly ttlRule: string;
  /** The rules this context was worked out from (a state keeps them when it is retagged). */
  readonly rules: TagContexts;

  constructor(tags: readonly string[], relevant: ReadonlySet<string>, ttl: TtlDecision, rules: TagContexts) {
    this.tags = tags;
    this.rules = rules;
    this.relevant = relevant;
    this.ttlMs = ttl.ttlMs;
    this.ttlRule = ttl.rule;
  }
}

/**
 * One state-sync configuration's contexts, interned by tag set, so relevance and TTL are worked
 * out once per set. A store has one for its own configuration and one per agent definition that
 * brings its own (`AgentDefinition.state`).
 */
export class TagContexts {
  readonly policy: TtlPolicy;
  readonly limits: StateSyncConfig['limits'];
  /** The fields declared as CRDTs, by kind. */
  readonly crdt: Readonly<Record<string, StateCrdtKind>>;
  readonly #relevance: ReadonlyMap<string, readonly string[]>;
  readonly #always: readonly string[];
  readonly #cache = new Map<string, TagContext>();
  /** The context of an agent with no tags. */
  readonly empty: TagContext;

  constructor(config: StateSyncConfig) {
    this.policy = new TtlPolicy(config.ttl);
    this.limits = config.limits;
    this.crdt = config.crdt;
    this.#relevance = new Map(Object.entries(config.relevance));
    this.#always = config.alwaysRelevant;
    this.empty = this.#build([]);
  }

  /** The context of `tags` (already normalized: see `normalizeTags`). */
  get(tags: readonly string[]): TagContext {
    if (tags.length === 0) return this.empty;
    const key = tags.join(',');
    const known = this.#cache.get(key);
    if (known !== undefined) return known;
    const context = this.#build(tags);
    if (this.#cache.size < CACHE_LIMIT) this.#cache.set(key, context);
    return context;
  }

  #build(tags: readonly string[]): TagContext {
    const relevant = new Set<string>(this.#always);
    for (const tag of tags) for (const field of this.#relevance.get(tag) ?? []) relevant.add(field);
    const frozen = Object.freeze([...tags]);
    return new TagContext(frozen, relevant, this.policy.ttlFor(new Set(tags)), this);
  }
}

/**
 * Validates a tag list and returns it sorted and without duplicates.
 * @throws StateInvalidError for a non-array, a malformed tag, or more than 64 tags.
 */
export function normalizeTags(agentId: string, tags: unknown): string[] {
  if (!Array.isArray(tags)) throw new StateInvalidError(agentId, 'tags', 'tags must be an array of strings');
  for (let i = 0; i < tags.length; i++) {
    const tag = tags[i];
    if (typeof tag !== 'string' || !TAG_PATTERN.test(tag))
      throw new StateInvalidError(
        agentId,
        `tags.${i}`,
        `${JSON.stringify(tag)} is not a tag (a lowercase letter then up to 63 of a-z, 0-9, _)`,
      );
  }
  const sorted = [...new Set(tags as string[])].sort();
  if (sorted.length > MAX_TAGS)
    throw new StateInvalidError(agentId, 'tags', `${sorted.length} tags; at most ${MAX_TAGS}`);
  return sorted;
}
