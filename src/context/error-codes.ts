/** Stable codes of the errors the tenant context throws (each has an HTTP status in the server's table). */
export type ContextErrorCode = 'INVALID_TENANT_ID' | 'TENANT_REQUIRED';
