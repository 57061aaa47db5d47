import { AgentfleetError } from '../errors/index.ts';

/** No credentials, or credentials that match no key. Maps to HTTP 401. */
export class UnauthenticatedError extends AgentfleetError<TenancyErrorCode> {
  constructor(reason: string) {
    super('UNAUTHENTICATED', `${reason} Send "Authorization: Bearer <api key>".`);
  }
}

/** Valid credentials that may not do this (a tenant key on an admin route, a disabled tenant). Maps to HTTP 403. */
export class ForbiddenError extends AgentfleetError<TenancyErrorCode> {
  constructor(code: 'FORBIDDEN' | 'TENANT_DISABLED', message: string) {
    super(code, message);
  }
}

/** Which quota a refusal is about. */
export type QuotaName = 'maxAgents' | 'maxConcurrentSteps' | 'requestsPerPeriod';

/** A tenant is over one of its quotas. Maps to HTTP 429 with `Retry-After`. */
export class QuotaExceededError extends AgentfleetError<TenancyErrorCode> {
  readonly retryAfterSeconds: number;
  constructor(tenant: string, quota: QuotaName, limit: number, retryAfterSeconds: number) {
    super(
      'QUOTA_EXCEEDED',
      `Tenant "${tenant}" is over its ${quota} quota of ${limit}; retry after ${retryAfterSeconds} s or ask for a higher quota.`,
      { details: { tenant, quota, limit, retryAfterSeconds } },
    );
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export class TenantNotFoundError extends AgentfleetError<TenancyErrorCode> {
  constructor(id: string) {
    super('TENANT_NOT_FOUND', `No tenant "${id}".`, { details: { tenant: id } });
  }
}

export class TenantExistsError extends AgentfleetError<TenancyErrorCode> {
  constructor(id: string) {
    super('TENANT_EXISTS', `Tenant "${id}" already exists; pick another id.`, { details: { tenant: id } });
  }
}

export class ApiKeyNotFoundError extends AgentfleetError<TenancyErrorCode> {
  constructor(keyId: string) {
    super('API_KEY_NOT_FOUND', `No API key "${keyId}" for this tenant.`, { details: { keyId } });
  }
}

/** The registry's stored data (a file, a table) is unreadable or malformed. */
export class TenantRegistryError extends AgentfleetError<TenancyErrorCode> {
  constructor(message: string, cause?: unknown) {
    super('TENANT_REGISTRY_FAILED', message, { cause });
  }
}

/**
 * Deleting a tenant stopped before the end: the named purgers failed (the tenant stays in the
 * registry, disabled). Deleting it again resumes: purgers that finished find nothing left.
 */
export class TenantDeletionError extends AgentfleetError<TenancyErrorCode> {
  /** The purgers that failed, with their errors. */
  readonly failures: ReadonlyArray<{ purger: string; error: unknown }>;
  constructor(tenant: string, failures: ReadonlyArray<{ purger: string; error: unknown }>) {
    const names = failures.map((f) => f.purger).join(', ');
    super(
      'TENANT_DELETION_INCOMPLETE',
      `Deleting tenant "${tenant}" is incomplete: ${names} failed; the tenant stays disabled, delete it again to finish.`,
      {
        cause: failures[0]?.error,
        details: {
          tenant,
          failed: failures.map((f) => ({
            purger: f.purger,
            message: (f.error as Error)?.message ?? String(f.error),
          })),
        },
      },
    );
    this.failures = failures;
  }
}

/** Stable codes of the errors tenancy (registry, keys, quotas) throws (each has an HTTP status in the server's table). */
export type TenancyErrorCode =
  | 'API_KEY_NOT_FOUND'
  | 'FORBIDDEN'
  | 'QUOTA_EXCEEDED'
  | 'TENANT_DELETION_INCOMPLETE'
  | 'TENANT_DISABLED'
  | 'TENANT_EXISTS'
  | 'TENANT_NOT_FOUND'
  | 'TENANT_REGISTRY_FAILED'
  | 'UNAUTHENTICATED';
