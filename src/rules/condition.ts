import { z } from 'zod';

/** Comparison operators of the JSON condition form. */
export type ConditionOp = 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte' | 'in' | 'nin' | 'exists' | 'matches';

/** A condition as data, so rules can live in config files. `path` is dotted (`battery.level`, `items.0.id`). */
export type JsonCondition =
  | true
  | { path: string; op: ConditionOp; value?: unknown; flags?: string }
  | { all: JsonCondition[] }
  | { any: JsonCondition[] }
  | { not: JsonCondition };

/** A condition over the perceived input: a predicate, or the JSON form. */
export type Condition<P> = ((percept: P) => boolean) | JsonCondition;

/** Validates the JSON form of a condition. */
export const conditionSchema: z.ZodType<JsonCondition> = z.lazy(() =>
  z.union([
    z.literal(true),
    z.strictObject({
      path: z.string().min(1),
      op: z.enum(['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'nin', 'exists', 'matches']),
      value: z.unknown().optional(),
      flags: z.string().optional(),
    }),
    z.strictObject({ all: z.array(conditionSchema) }),
    z.strictObject({ any: z.array(conditionSchema) }),
    z.strictObject({ not: conditionSchema }),
  ]),
);

type Predicate = (input: unknown) => boolean;
const MISSING = Symbol('missing');

/**
 * Compiles a condition once into a predicate: paths pre-split, regexes pre-built, so
 * evaluating allocates nothing. @throws Error describing the problem (the caller names the rule).
 */
export function compileCondition<P>(condition: Condition<P>): (percept: P) => boolean {
  if (typeof condition === 'function') return condition;
  return compileJson(condition) as (percept: P) => boolean;
}

function compileJson(condition: JsonCondition): Predicate {
  if (condition === true) return () => true;
  if (typeof condition !== 'object' || condition === null)
    throw new Error('a condition must be an object or true');
  if ('all' in condition) {
    const parts = condition.all.map(compileJson);
    return (input) => parts.every((p) => p(input));
  }
  if ('any' in condition) {
    const parts = condition.any.map(compileJson);
    return (input) => parts.some((p) => p(input));
  }
  if ('not' in condition) {
    const inner = compileJson(condition.not);
    return (input) => !inner(input);
  }
  const { path, op, value } = condition;
  if (typeof path !== 'string' || path.length === 0) throw new Error('path must be a non-empty string');
  const keys = path.split('.');
  const read = (input: unknown): unknown => {
    let current: unknown = input;
    for (const key of keys) {
      if (current === null || typeof current !== 'object' || !Object.hasOwn(current, key)) return MISSING;
      current = (current as Record<string, unknown>)[key];
    }
    return current;
  };
  switch (op) {
    case 'eq':
      return (input) => read(input) === value;
    case 'ne':
      return (input) => read(input) !== value;
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      if (typeof value !== 'number' && typeof value !== 'string')
        throw new Error(`${op} needs a number or string value`);
      return (input) => {
        const actual = read(input);
        if (typeof actual !== typeof value) return false;
        const a = actual as number | string;
        return op === 'gt' ? a > value : op === 'gte' ? a >= value : op === 'lt' ? a < value : a <= value;
      };
    case 'in':
    case 'nin': {
      if (!Array.isArray(value)) throw new Error(`${op} needs an array value`);
      const set = new Set(value);
      return op === 'in' ? (input) => set.has(read(input)) : (input) => !set.has(read(input));
    }
    case 'exists':
      return value === false ? (input) => read(input) === MISSING : (input) => read(input) !== MISSING;
    case 'matches': {
      if (typeof value !== 'string') throw new Error('matches needs a string pattern');
      let regex: RegExp;
      try {
        // g and y make test() stateful across calls; a condition must not be.
        regex = new RegExp(value, (condition as { flags?: string }).flags?.replace(/[gy]/g, ''));
      } catch (error) {
        throw new Error(`bad pattern ${JSON.stringify(value)}: ${(error as Error).message}`);
      }
      return (input) => {
        const actual = read(input);
        return typeof actual === 'string' && regex.test(actual);
      };
    }
    default:
      throw new Error(`unknown op ${JSON.stringify(op)}`);
  }
}
