import { z } from 'zod';
import { type BudgetInput, budgetSchema } from '../budgets/index.ts';
import { TENANT_ID_PATTERN } from '../context/index.ts';

/** Limits on one tenant. Absent fields are unlimited. */
export interface TenantQuotas {
  /** Agents the tenant may own at once (any state, until removed). */
  maxAgents?: number;
  /** Messages its agents may have accepted and not finished (queued or running). */
  maxConcurrentSteps?: number;
  /** HTTP requests per `periodSeconds`. */
  requestsPerPeriod?: number;
  /** Length of the request-rate window, in seconds. Default 1. */
  periodSeconds?: number;
  /**
   * Tokens and/or cost of the tenant's model calls per period (its own `periodSeconds`,
   * default a day), enforced before each call (`BUDGET_EXCEEDED`, 429). See `budgetSchema`.
   */
  budget?: BudgetInput;
}

export const tenantQuotasSchema = z.strictObject({
  maxAgents: z.number().int().min(0).max(100_000_000).optional(),
  maxConcurrentSteps: z.number().int().min(0).max(100_000_000).optional(),
  requestsPerPeriod: z.number().int().min(1).max(1_000_000_000).optional(),
  periodSeconds: z.number().int().min(1).max(86_400).optional(),
  budget: budgetSchema.optional(),
});

/** One tenant as the registry stores it. */
export interface TenantRecord {
  id: string;
  name: string;
  quotas: TenantQuotas;
  /** A disabled tenant's keys are refused (403) until it is enabled again. */
  disabled: boolean;
  /** Milliseconds since the epoch. */
  createdAt: number;
}

/** One API key as stored: never the plaintext, only its SHA-256. */
export interface ApiKeyRecord {
  /** The public key id (the 16 hex characters after `af_`). */
  id: string;
  tenantId: string;
  name: string;
  /** SHA-256 of the whole key, hex. */
  hash: string;
  createdAt: number;
  /** When it was revoked (ms since the epoch), or null while valid. */
  revokedAt: number | null;
}

export const newTenantSchema = z.strictObject({
  id: z.string().regex(TENANT_ID_PATTERN, 'must be 1-64 letters, digits, "_" or "-"'),
  name: z.string().min(1).max(200).optional(),
  quotas: tenantQuotasSchema.default({}),
  disabled: z.boolean().default(false),
});
export type NewTenant = z.input<typeof newTenantSchema>;

export const tenantPatchSchema = z.strictObject({
  name: z.string().min(1).max(200).optional(),
  quotas: tenantQuotasSchema.optional(),
  disabled: z.boolean().optional(),
});
export type TenantPatch = z.input<typeof tenantPatchSchema>;

/**
 * Where tenants and their hashed API keys live. `MemoryTenantRegistry` (optionally saved to
 * a JSON file) is the default; `PostgresTenantRegistry` (`agentfleet/postgres`) is the shared
 * one for a cluster. Both pass `tenantRegistryContract` (`agentfleet/testing`).
 */
export interface TenantRegistry {
  /** `memory`, `file` or `postgres`. */
  readonly kind: string;
  /** @throws TenantExistsError, InvalidOptionsError */
  createTenant(input: NewTenant): Promise<TenantRecord>;
  getTenant(id: string): Promise<TenantRecord | undefined>;
  /** Tenants in id order. */
  listTenants(options?: { limit?: number; offset?: number }): Promise<TenantRecord[]>;
  /** @throws TenantNotFoundError, InvalidOptionsError */
  updateTenant(id: string, patch: TenantPatch): Promise<TenantRecord>;
  /** Deletes the tenant and its keys; false when there was none. */
  deleteTenant(id: string): Promise<boolean>;
  /** Stores a key record (see `issueApiKey`). @throws TenantNotFoundError */
  addKey(record: ApiKeyRecord): Promise<void>;
  findKey(keyId: string): Promise<ApiKeyRecord | undefined>;
  /** A tenant's keys, revoked ones included, oldest first. */
  listKeys(tenantId: string): Promise<ApiKeyRecord[]>;
  /** Marks the key revoked; false when the tenant has no such key. */
  revokeKey(tenantId: string, keyId: string): Promise<boolean>;
  close(): Promise<void>;
}
