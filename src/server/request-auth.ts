import type { IncomingMessage } from 'node:http';
import { type TenantContext, tenantContext } from '../context/index.ts';
import {
  type Authenticator,
  ForbiddenError,
  type Principal,
  type TenantQuotaGate,
} from '../tenancy/index.ts';
import type { RouteAccess } from './router.ts';

/** Header with which the admin key acts as one tenant (to manage its agents, say). */
export const ACT_AS_TENANT_HEADER = 'x-agentfleet-tenant';

/** What a request runs as: a tenant, or the system scope (the admin, or a public route). */
export type RequestScope = TenantContext | undefined;

/** How the server authenticates requests: an authenticator, or `none` when it sits behind your own gateway. */
export interface RequestAuth {
  authenticator: Authenticator | 'none';
  /** Request-rate quotas per tenant; agent and step quotas are the runtime's `admission`. */
  quotas?: TenantQuotaGate;
}

/**
 * Authenticates a request for a route and resolves the tenant it runs as. Synchronous when
 * the key is cached and the tenant has no request window.
 * @throws UNAUTHENTICATED (401), FORBIDDEN / TENANT_DISABLED (403), QUOTA_EXCEEDED (429).
 */
export function authorize(
  req: IncomingMessage,
  access: RouteAccess,
  auth: RequestAuth,
): RequestScope | Promise<RequestScope> {
  if (access === 'public' || auth.authenticator === 'none') return undefined;
  if (access === 'optional' && req.headers.authorization === undefined) return undefined;
  const principal = auth.authenticator.authenticate(req.headers.authorization);
  return principal instanceof Promise
    ? principal.then((p) => scopeOf(req, access, p, auth))
    : scopeOf(req, access, principal, auth);
}

function scopeOf(
  req: IncomingMessage,
  access: RouteAccess,
  principal: Principal,
  auth: RequestAuth,
): RequestScope | Promise<RequestScope> {
  if (principal.kind === 'admin') {
    const actAs = req.headers[ACT_AS_TENANT_HEADER];
    return typeof actAs === 'string' && access !== 'admin' ? tenantContext(actAs) : undefined;
  }
  if (access === 'admin') throw new ForbiddenError('FORBIDDEN', 'This route needs the admin key.');
  const window = auth.quotas?.consumeRequest(principal.tenant.id);
  return window === undefined ? principal.tenant : window.then(() => principal.tenant);
}
