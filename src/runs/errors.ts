import { AgentfleetError, type AgentfleetErrorOptions } from '../errors/index.ts';
import type { RunsErrorCode } from './error-codes.ts';

/** A durable-run failure with a stable code: unknown or finished runs, conflicts, corrupt rows, decided approvals. */
export class RunsError extends AgentfleetError<RunsErrorCode> {
  declare readonly code: RunsErrorCode;
  constructor(code: RunsErrorCode, message: string, options?: AgentfleetErrorOptions) {
    super(code, message, options);
  }
}

/** The run does not exist in the caller's tenant (another tenant's run is not found either). */
export function runNotFound(runId: string): RunsError {
  return new RunsError('RUN_NOT_FOUND', `There is no run "${runId}".`, { details: { runId } });
}

/** Another writer advanced the run since it was read: the caller's view is stale. */
export function runConflict(runId: string, expected: number, actual: number): RunsError {
  return new RunsError(
    'RUN_CONFLICT',
    `Run "${runId}" was advanced elsewhere (checkpoint ${actual}, expected ${expected}).`,
    { details: { runId, expected, actual } },
  );
}

/** A row read back from a store is not what the store writes (corrupt, or another tenant's). */
export function corruptRow(what: string, key: string, problems: readonly string[]): RunsError {
  return new RunsError(
    'RUN_STORE_CORRUPT',
    `The run store holds a ${what} "${key}" it cannot read: ${problems.join('; ')}.`,
    { details: { what, key, problems: problems.slice(0, 10) } },
  );
}

/** The approval does not exist in the caller's tenant. */
export function approvalNotFound(approvalId: string): RunsError {
  return new RunsError('APPROVAL_NOT_FOUND', `There is no approval "${approvalId}".`, {
    details: { approvalId },
  });
}

/** A `Last-Event-ID` (or `after`) that is not one of the run's event ids: not an integer, or past its last event. */
export function eventIdInvalid(runId: string, value: string, lastSeq: number): RunsError {
  return new RunsError(
    'EVENT_ID_INVALID',
    `"${value.slice(0, 40)}" is not an event id of run "${runId}" (an integer from 0 to ${lastSeq}).`,
    { details: { runId, lastSeq } },
  );
}

/** The run is completed, failed or cancelled: nothing more may be appended to it. */
export function runFinished(runId: string, status: string): RunsError {
  return new RunsError('RUN_FINISHED', `Run "${runId}" is ${status}.`, { details: { runId, status } });
}

/** A run or approval of this id exists already (in this tenant). */
export function alreadyExists(what: 'Run' | 'Approval', id: string): RunsError {
  return new RunsError('RUN_EXISTS', `${what} "${id}" exists.`, { details: { id } });
}
