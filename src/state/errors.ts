import { AgentfleetError, type AgentfleetErrorOptions } from '../errors/index.ts';

/** A state-sync configuration (relevance table, TTL rules, limits) is malformed. */
export class StateConfigInvalidError extends AgentfleetError<StateErrorCode> {
  constructor(problems: string[], options: { source?: string; cause?: unknown } = {}) {
    const where = options.source === undefined ? '' : ` (${options.source})`;
    super('STATE_CONFIG_INVALID', `Invalid state-sync configuration${where}: ${problems.join('; ')}`, {
      cause: options.cause,
      details: { problems, ...(options.source === undefined ? {} : { source: options.source }) },
    });
  }
}

/**
 * An agent id, tag list or state patch is not acceptable: a value that is not plain JSON
 * (function, symbol, bigint, NaN, a class instance, a cycle), a bad field name, a bad tag.
 */
export class StateInvalidError extends AgentfleetError<StateErrorCode> {
  constructor(agentId: string, path: string, reason: string, options?: AgentfleetErrorOptions) {
    super('STATE_INVALID', `Invalid state for agent ${JSON.stringify(agentId)} at ${path}: ${reason}.`, {
      ...options,
      details: { agentId, path, reason },
    });
  }
}

/** The limit a state update would break. */
export type StateLimit = 'maxKeys' | 'maxBytes';

/** An update would take an agent's state over `maxKeys` or `maxBytes`; nothing was applied. */
export class StateLimitError extends AgentfleetError<StateErrorCode> {
  constructor(agentId: string, limit: StateLimit, max: number, actual: number) {
    const unit = limit === 'maxKeys' ? 'keys' : 'bytes of JSON';
    super(
      'STATE_LIMIT_EXCEEDED',
      `The state of agent ${JSON.stringify(agentId)} would have ${actual} ${unit}; the limit (${limit}) is ${max}. Nothing was applied: remove fields (set them to null) or raise limits.${limit}.`,
      { details: { agentId, limit, max, actual } },
    );
  }
}

/** The state store was closed; create a new one. */
export class StateStoreClosedError extends AgentfleetError<StateErrorCode> {
  constructor() {
    super('STATE_STORE_CLOSED', 'The state store is closed; create a new one to keep state.');
  }
}

/** Stable codes of the errors the state store throws (each has an HTTP status in the server's table). */
export type StateErrorCode =
  | 'STATE_CONFIG_INVALID'
  | 'STATE_INVALID'
  | 'STATE_LIMIT_EXCEEDED'
  | 'STATE_STORE_CLOSED';
