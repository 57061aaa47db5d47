import { AgentfleetError } from '../errors/index.ts';
import type { GroupsErrorCode } from './error-codes.ts';

/** The group was closed: it takes no messages and cannot be scaled. */
export class GroupClosedError extends AgentfleetError<GroupsErrorCode> {
  constructor(group: string) {
    super('GROUP_CLOSED', `Agent group "${group}" is closed; open a new group to send to it.`, {
      details: { group },
    });
  }
}

/** A replica count that is not an integer between 1 and the group's `maxReplicas`. */
export class GroupSizeInvalidError extends AgentfleetError<GroupsErrorCode> {
  constructor(group: string, got: unknown, max: number) {
    super(
      'GROUP_SIZE_INVALID',
      `Agent group "${group}" needs an integer number of replicas from 1 to ${max}; got ${String(got)}.`,
      { details: { group, got: typeof got === 'number' ? got : String(got), min: 1, max } },
    );
  }
}

/** The group belongs to another tenant than the one the caller runs as. */
export class GroupTenantMismatchError extends AgentfleetError<GroupsErrorCode> {
  constructor(group: string, tenant: string | undefined, caller: string) {
    super(
      'GROUP_TENANT_MISMATCH',
      `Agent group "${group}" belongs to ${tenant === undefined ? 'no tenant' : `tenant "${tenant}"`}; it cannot be used as tenant "${caller}".`,
      { details: { group, caller } },
    );
  }
}

/** No replica in rotation is running (they failed, or the runtime closed). */
export class GroupUnavailableError extends AgentfleetError<GroupsErrorCode> {
  constructor(group: string, replicas: number) {
    super(
      'GROUP_UNAVAILABLE',
      `Agent group "${group}" has no running replica (${replicas} in rotation); scale it or open it again.`,
      { details: { group, replicas } },
    );
  }
}

/** Another group of this id is open (or opening) in the same tenant. */
export class GroupExistsError extends AgentfleetError<GroupsErrorCode> {
  constructor(group: string) {
    super('GROUP_EXISTS', `An agent group "${group}" is already open; close it first or pick another id.`, {
      details: { group },
    });
  }
}

/** No open group of this id in the current tenant. */
export class GroupNotFoundError extends AgentfleetError<GroupsErrorCode> {
  constructor(group: string) {
    super('GROUP_NOT_FOUND', `No agent group "${group}" is open; open it first.`, { details: { group } });
  }
}
