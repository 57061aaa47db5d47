import { z } from 'zod';
import { formatIssues } from '../errors/index.ts';
import { conditionSchema } from './condition.ts';
import { InvalidRulesError } from './errors.ts';
import { RuleEngine } from './rule-engine.ts';

const outcome = {
  decision: z.unknown().refine((v) => v !== undefined, 'decision is required'),
  reason: z.string().trim().min(1),
  confidence: z.number().min(0).max(1).optional(),
};

/** Validates a rule set written as JSON (`{ rules: [...], otherwise? }`). */
export const ruleSetJsonSchema = z.strictObject({
  rules: z.array(z.strictObject({ name: z.string().min(1).optional(), when: conditionSchema, ...outcome })),
  otherwise: z.strictObject(outcome).optional(),
});

/**
 * Builds a rule engine from a JSON document, e.g. read from a config file.
 * @throws InvalidRulesError listing each problem as `path: message`.
 */
export function rulesFromJSON<V = unknown>(json: unknown): RuleEngine<Record<string, unknown>, V> {
  const parsed = ruleSetJsonSchema.safeParse(json);
  if (!parsed.success) throw new InvalidRulesError(formatIssues(parsed.error));
  return new RuleEngine(
    parsed.data as ConstructorParameters<typeof RuleEngine<Record<string, unknown>, V>>[0],
  );
}
