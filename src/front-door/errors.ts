import { AgentfleetError } from '../errors/index.ts';
import type { FrontDoorErrorCode } from './error-codes.ts';

/** A bus request the front door cannot take: too many in flight, for its tenant or in all. */
export class IngressOverloadedError extends AgentfleetError<FrontDoorErrorCode> {
  constructor(scope: 'tenant' | 'total', limit: number, tenant: string) {
    super(
      'INGRESS_OVERLOADED',
      scope === 'tenant'
        ? `Tenant "${tenant}" already has ${limit} bus requests in flight on this node; retry later.`
        : `This node already has ${limit} bus requests in flight; retry later.`,
      { details: { scope, limit, tenant } },
    );
  }
}

/** A bus request whose payload is not `{ input, stream? }`, or names a stream subject it may not use. */
export class IngressRequestInvalidError extends AgentfleetError<FrontDoorErrorCode> {
  constructor(why: string, topic: string) {
    super('INVALID_REQUEST', `Invalid bus request on ${topic}: ${why}.`, { details: { topic } });
  }
}

/** A bus request for a tenant other than the one its subject names (`agent.<tenant>.<id>.inbox`). */
export class IngressTenantMismatchError extends AgentfleetError<FrontDoorErrorCode> {
  constructor(subjectTenant: string, envelopeTenant: string) {
    super(
      'TENANT_MISMATCH',
      `The request on tenant "${subjectTenant}"'s inbox claims tenant "${envelopeTenant}"; the subject decides.`,
      { details: { tenant: subjectTenant } },
    );
  }
}

/** What a bus caller may see of an error: an Agentfleet error as it is, anything else as `INTERNAL` (its message stays in the node). */
export function publicError(error: unknown): AgentfleetError {
  return AgentfleetError.isInstance(error)
    ? error
    : new AgentfleetError('INTERNAL', 'Internal error; see the node log.', { cause: error });
}
