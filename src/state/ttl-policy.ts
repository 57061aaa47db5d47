import type { StateSyncConfig, TtlCondition } from './state-schema.ts';

/** The TTL the current tags give, and the rule that gave it (`default` when none matched). */
export interface TtlDecision {
  readonly ttlMs: number;
  readonly rule: string;
}

/** One rule, compiled: tag lists as arrays for a tight loop, the decision preallocated. */
class CompiledRule {
  readonly anyTag: readonly string[] | undefined;
  readonly allTags: readonly string[];
  readonly decision: TtlDecision;

  constructor(when: TtlCondition, decision: TtlDecision) {
    this.anyTag = when.anyTag === undefined ? undefined : [...new Set(when.anyTag)];
    this.allTags = when.allTags === undefined ? [] : [...new Set(when.allTags)];
    this.decision = decision;
  }

  matches(tags: ReadonlySet<string>): boolean {
    const all = this.allTags;
    for (let i = 0; i < all.length; i++) if (!tags.has(all[i] as string)) return false;
    const any = this.anyTag;
    if (any === undefined) return true;
    for (let i = 0; i < any.length; i++) if (tags.has(any[i] as string)) return true;
    return false;
  }
}

/**
 * Decides an agent's TTL from its current context tags by ordered rules: the first rule whose
 * condition holds wins, else `defaultTtlMs`. Rules are compiled once; a decision allocates
 * nothing (the store also caches it per distinct tag set).
 */
export class TtlPolicy {
  readonly #rules: readonly CompiledRule[];
  readonly #default: TtlDecision;

  /** @param ttl a validated `config.ttl` (see `parseStateSyncConfig`). */
  constructor(ttl: StateSyncConfig['ttl']) {
    this.#rules = ttl.rules.map(
      (rule, index) =>
        new CompiledRule(rule.when, Object.freeze({ ttlMs: rule.ttlMs, rule: rule.name ?? `rule-${index}` })),
    );
    this.#default = Object.freeze({ ttlMs: ttl.defaultTtlMs, rule: 'default' });
  }

  /** The TTL for an agent whose current tags are `tags`. */
  ttlFor(tags: ReadonlySet<string>): TtlDecision {
    const rules = this.#rules;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i] as CompiledRule;
      if (rule.matches(tags)) return rule.decision;
    }
    return this.#default;
  }
}
