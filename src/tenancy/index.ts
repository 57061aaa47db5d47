export {
  apiKeyId,
  apiKeyMatches,
  bearerToken,
  type GeneratedApiKey,
  generateApiKey,
  hashApiKey,
} from './api-keys.ts';
export { Authenticator, type AuthenticatorOptions, type Principal } from './authenticator.ts';
export type { TenancyErrorCode } from './errors.ts';
export {
  ApiKeyNotFoundError,
  ForbiddenError,
  QuotaExceededError,
  type QuotaName,
  TenantDeletionError,
  TenantExistsError,
  TenantNotFoundError,
  TenantRegistryError,
  UnauthenticatedError,
} from './errors.ts';
export { issueApiKey } from './issue-api-key.ts';
export { TenantQuotaGate } from './quota-gate.ts';
export { MemoryTenantRegistry } from './registries/memory.ts';
export {
  type ApiKeyRecord,
  type NewTenant,
  type TenantPatch,
  type TenantQuotas,
  type TenantRecord,
  type TenantRegistry,
  tenantQuotasSchema,
} from './registry.ts';
export {
  TenantDeletion,
  type TenantDeletionOptions,
  type TenantDeletionResult,
  type TenantPurger,
} from './tenant-deletion.ts';
