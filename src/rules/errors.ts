import { AgentfleetError } from '../errors/index.ts';

/** No rule matched the input and the rule set has no `otherwise`. */
export class RulesNoMatchError extends AgentfleetError<RulesErrorCode> {
  constructor(ruleCount: number) {
    super('RULES_NO_MATCH', `None of the ${ruleCount} rules matched; add an "otherwise" to always decide.`, {
      details: { rules: ruleCount },
    });
  }
}

/** A rule set is malformed; the message names the rule and the problem. */
export class InvalidRulesError extends AgentfleetError<RulesErrorCode> {
  constructor(problems: string[]) {
    super('INVALID_RULES', `Invalid rule set: ${problems.join('; ')}`, { details: { problems } });
  }
}

/** Stable codes of the errors the rule engine throws (each has an HTTP status in the server's table). */
export type RulesErrorCode = 'INVALID_RULES' | 'RULES_NO_MATCH';
