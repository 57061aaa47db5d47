import { AgentfleetError, type AgentfleetErrorOptions } from '../errors/index.ts';
import type { RolloutErrorCode } from './error-codes.ts';

/**
 * Every error a rollout throws: `ROLLOUT_INVALID` (a bad plan, 400), `ROLLOUT_EXISTS` (one is
 * already running or paused for the agent, 409), `ROLLOUT_NOT_FOUND` (none for the agent, 404),
 * `ROLLOUT_NOT_ACTIVE` (it has finished, 409), `VERSION_NOT_FOUND` (the version to roll out, or
 * a current one to roll out from, is missing, 404), `ROLLOUT_RECORD_INVALID` (a stored record is
 * damaged or foreign, 500), `ROLLOUT_STORE_UNAVAILABLE` (the shared store cannot be reached, 503).
 */
export class RolloutError extends AgentfleetError<RolloutErrorCode> {
  constructor(code: RolloutErrorCode, message: string, options?: AgentfleetErrorOptions) {
    super(code, message, options);
  }
}

/** `tenant/definition`, for messages. */
export const who = (tenant: string, definition: string): string => `${tenant}/${definition}`;

export const rolloutNotFound = (tenant: string, definition: string): RolloutError =>
  new RolloutError('ROLLOUT_NOT_FOUND', `No rollout of ${who(tenant, definition)}.`, {
    details: { tenant, definition },
  });

export const rolloutNotActive = (tenant: string, definition: string, status: string): RolloutError =>
  new RolloutError(
    'ROLLOUT_NOT_ACTIVE',
    `The rollout of ${who(tenant, definition)} is ${status}; only a running or paused one can change (start a new one).`,
    { details: { tenant, definition, status } },
  );

export const storeUnavailable = (what: string, cause?: unknown): RolloutError =>
  new RolloutError(
    'ROLLOUT_STORE_UNAVAILABLE',
    `The rollout store could not ${what}${cause instanceof Error ? `: ${cause.message}` : ''}.`,
    cause === undefined ? undefined : { cause },
  );

export const recordInvalid = (key: string, why: string): RolloutError =>
  new RolloutError('ROLLOUT_RECORD_INVALID', `The stored rollout at ${key} is refused: ${why}.`, {
    details: { key },
  });
