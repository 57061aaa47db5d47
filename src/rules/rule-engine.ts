import { type Condition, compileCondition } from './condition.ts';
import type { Decision } from './decision.ts';
import { InvalidRulesError, RulesNoMatchError } from './errors.ts';

/** One ordered rule: when `when` holds, decide `decision` for `reason` with `confidence` (0–1, default 1). */
export interface Rule<P, V> {
  /** Shown in decisions and provenance. Default `rule-<index>`. */
  name?: string;
  when: Condition<P>;
  decision: V | ((percept: P) => V);
  reason: string;
  confidence?: number;
}

/** The fallback when no rule matches. */
export interface Otherwise<P, V> {
  decision: V | ((percept: P) => V);
  reason: string;
  confidence?: number;
}

/** A rule set: rules tried in order, first match wins, then `otherwise`. */
export interface RuleSetOptions<P, V> {
  rules: Rule<P, V>[];
  otherwise?: Otherwise<P, V>;
}

interface CompiledRule<P, V> {
  name: string;
  test: (percept: P) => boolean;
  decision: V | ((percept: P) => V);
  computed: boolean;
  reason: string;
  confidence: number;
}

/**
 * A declarative cognition: ordered rules over the perceived input, compiled once.
 * Use it as an agent's `decide`. Deciding is synchronous.
 */
export class RuleEngine<P, V> {
  readonly #rules: CompiledRule<P, V>[];
  readonly #otherwise: CompiledRule<P, V> | undefined;

  /** @throws InvalidRulesError naming each bad rule. */
  constructor(options: RuleSetOptions<P, V>) {
    const problems: string[] = [];
    if (!Array.isArray(options?.rules)) throw new InvalidRulesError(['rules must be an array']);
    const names = new Set<string>();
    this.#rules = [];
    options.rules.forEach((rule, index) => {
      const name = rule?.name ?? `rule-${index}`;
      const label = `rule ${index} (${name})`;
      if (names.has(name)) problems.push(`${label}: duplicate name`);
      names.add(name);
      const compiled = compileRule(rule, name, label, problems);
      if (compiled !== undefined) this.#rules.push(compiled);
    });
    if (options.otherwise !== undefined) {
      this.#otherwise = compileRule({ ...options.otherwise, when: true }, 'otherwise', 'otherwise', problems);
    }
    if (options.rules.length === 0 && options.otherwise === undefined) {
      problems.push('a rule set needs at least one rule or an otherwise');
    }
    if (problems.length > 0) throw new InvalidRulesError(problems);
  }

  /** Number of rules, not counting `otherwise`. */
  get size(): number {
    return this.#rules.length;
  }

  /** Decides for one input. @throws RulesNoMatchError when nothing matches and there is no otherwise. */
  decide(percept: P): Decision<V> {
    const rules = this.#rules;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      if (rule.test(percept)) return decision(rule, percept);
    }
    if (this.#otherwise !== undefined) return decision(this.#otherwise, percept);
    throw new RulesNoMatchError(rules.length);
  }

  /** The rules in order, for consoles and provenance. */
  describe(): Array<{ name: string; reason: string; confidence: number }> {
    const all = this.#otherwise === undefined ? this.#rules : [...this.#rules, this.#otherwise];
    return all.map(({ name, reason, confidence }) => ({ name, reason, confidence }));
  }
}

/** Builds a rule engine. @throws InvalidRulesError */
export function rules<P, V>(options: RuleSetOptions<P, V>): RuleEngine<P, V> {
  return new RuleEngine(options);
}

function decision<P, V>(rule: CompiledRule<P, V>, percept: P): Decision<V> {
  const value = rule.computed ? (rule.decision as (p: P) => V)(percept) : (rule.decision as V);
  return { value, reason: rule.reason, confidence: rule.confidence, rule: rule.name };
}

function compileRule<P, V>(
  rule: Rule<P, V>,
  name: string,
  label: string,
  problems: string[],
): CompiledRule<P, V> | undefined {
  if (typeof rule !== 'object' || rule === null) {
    problems.push(`${label}: must be an object`);
    return undefined;
  }
  const confidence = rule.confidence ?? 1;
  if (typeof confidence !== 'number' || !(confidence >= 0 && confidence <= 1)) {
    problems.push(`${label}: confidence must be a number from 0 to 1, got ${String(rule.confidence)}`);
  }
  if (typeof rule.reason !== 'string' || rule.reason.trim() === '') {
    problems.push(`${label}: reason must be a non-empty string`);
  }
  if (!('decision' in rule)) problems.push(`${label}: decision is missing`);
  let test: (percept: P) => boolean;
  try {
    test = compileCondition(rule.when);
  } catch (error) {
    problems.push(`${label}: bad condition: ${(error as Error).message}`);
    return undefined;
  }
  return {
    name,
    test,
    decision: rule.decision,
    computed: typeof rule.decision === 'function',
    reason: rule.reason,
    confidence,
  };
}
