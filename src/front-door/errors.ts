import { AgentfleetError } from '../errors/index.ts';

/** A bus request the front door cannot take: too many in flight, for its tenant or in all. */
export class IngressOverloadedError extends AgentfleetError {
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
export class IngressRequestInvalidError extends AgentfleetError {
  constructor(why: string, topic: string) {
    super('INVALID_REQUEST', `Invalid bus request on ${topic}: ${why}.`, { details: { topic } });
  }
}

/** A bus request for a tenant other than the one its subject names (`agent.<tenant>.<id>.inbox`). */
export class IngressTenantMismatchError extends AgentfleetError {
  constructor(subjectTenant: string, envelopeTenant: string) {
    super(
      'TENANT_MISMATCH',
      `The request on tenant "${subjectTenant}"'s inbox claims tenant "${envelopeTenant}"; the subject decides.`,
      { details: { tenant: subjectTenant } },
    );
  }
}
