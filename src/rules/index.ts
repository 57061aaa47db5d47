export {
  type Condition,
  type ConditionOp,
  compileCondition,
  conditionSchema,
  type JsonCondition,
} from './condition.ts';
export type { Decision } from './decision.ts';
export type { RulesErrorCode } from './errors.ts';
export { InvalidRulesError, RulesNoMatchError } from './errors.ts';
export { type Otherwise, type Rule, RuleEngine, type RuleSetOptions, rules } from './rule-engine.ts';
export { ruleSetJsonSchema, rulesFromJSON } from './rules-from-json.ts';
