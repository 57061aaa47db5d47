import { type TenantContext, tenantContext } from '../context/index.ts';
import { apiKeyId, apiKeyMatches, bearerToken, hashApiKey } from './api-keys.ts';
import { ForbiddenError, UnauthenticatedError } from './errors.ts';
import type { TenantQuotaGate } from './quota-gate.ts';
import type { ApiKeyRecord, TenantRecord, TenantRegistry } from './registry.ts';

/** Who a request is from. */
export type Principal =
  | { kind: 'admin' }
  | { kind: 'tenant'; tenant: TenantContext; record: TenantRecord; keyId: string };

/** Options of `Authenticator`. */
export interface AuthenticatorOptions {
  registry: TenantRegistry;
  /** The admin secret (any string of 16+ characters); kept only as its SHA-256. */
  adminKey?: string;
  /** Or its SHA-256, hex, so the plaintext need not be in the server's config. */
  adminKeySha256?: string;
  /** How long a looked-up key and tenant are trusted without asking the registry again, in ms. Default 5,000. */
  cacheTtlMs?: number;
  /** Receives each tenant's quotas as its record is (re)loaded. */
  quotas?: TenantQuotaGate;
  /** Clock in ms. Default `Date.now`. */
  now?: () => number;
}

interface CachedKey {
  key: ApiKeyRecord | undefined;
  tenant: TenantRecord | undefined;
  until: number;
  /** The principal this key stands for, made once per lookup. */
  principal: Principal | undefined;
  /** The stored hash as bytes, decoded once per lookup. */
  hash: Buffer | undefined;
}

/** Keys that exist, cached at most. */
const CACHE_LIMIT = 100_000;
/** Key ids found in no record, cached apart so that random ids cannot push real keys out. */
const MISS_CACHE_LIMIT = 10_000;
const ADMIN: Principal = Object.freeze({ kind: 'admin' });

/** Sets `key`, first forgetting the oldest-loaded entry when `map` holds `limit` (a Map keeps insertion order). */
function setBounded<V>(map: Map<string, V>, limit: number, key: string, value: V): void {
  map.delete(key);
  if (map.size >= limit) map.delete(map.keys().next().value!);
  map.set(key, value);
}

/**
 * Turns an `Authorization: Bearer …` header into a `Principal`. Keys are looked up by their
 * public id, then compared by hash in constant time; lookups are cached for `cacheTtlMs`, so
 * a revocation made on another node takes effect within that time (at once on this one).
 */
export class Authenticator {
  readonly registry: TenantRegistry;
  readonly #adminHash: Buffer | undefined;
  readonly #cacheTtlMs: number;
  readonly #quotas: TenantQuotaGate | undefined;
  readonly #now: () => number;
  /** Looked-up keys that exist, oldest load first (entries expire after `cacheTtlMs`, so the oldest go first). */
  readonly #cache = new Map<string, CachedKey>();
  /** Key ids that matched no key (or a key of no tenant). */
  readonly #misses = new Map<string, CachedKey>();

  constructor(options: AuthenticatorOptions) {
    this.registry = options.registry;
    if (options.adminKey !== undefined && options.adminKey.length < 16) {
      throw new ForbiddenError('FORBIDDEN', 'The admin key must be at least 16 characters.');
    }
    const adminHex =
      options.adminKeySha256?.toLowerCase() ??
      (options.adminKey === undefined ? undefined : hashApiKey(options.adminKey));
    this.#adminHash = adminHex === undefined ? undefined : Buffer.from(adminHex, 'hex');
    this.#cacheTtlMs = options.cacheTtlMs ?? 5_000;
    this.#quotas = options.quotas;
    this.#now = options.now ?? Date.now;
  }

  /** Whether an admin key is configured. */
  get hasAdmin(): boolean {
    return this.#adminHash !== undefined;
  }

  /**
   * The principal behind an Authorization header. Synchronous when the key is cached.
   * @throws UnauthenticatedError (401) for a missing, malformed, unknown or revoked key.
   * @throws ForbiddenError `TENANT_DISABLED` (403) for a disabled tenant's key.
   */
  authenticate(authorization: string | undefined): Principal | Promise<Principal> {
    const token = bearerToken(authorization);
    if (token === undefined) throw new UnauthenticatedError('No API key was sent.');
    const keyId = apiKeyId(token);
    if (keyId === undefined) {
      if (this.#adminHash !== undefined && apiKeyMatches(token, this.#adminHash)) return ADMIN;
      throw new UnauthenticatedError('The API key is not valid.');
    }
    const cached = this.#cache.get(keyId) ?? this.#misses.get(keyId);
    if (cached !== undefined && cached.until > this.#now()) return this.#principal(token, cached);
    return this.#load(keyId).then((entry) => this.#principal(token, entry));
  }

  /** Forgets cached lookups for a key (or every key), e.g. after revoking it here. */
  invalidate(keyId?: string): void {
    if (keyId === undefined) {
      this.#cache.clear();
      this.#misses.clear();
    } else {
      this.#cache.delete(keyId);
      this.#misses.delete(keyId);
    }
  }

  /** Forgets cached lookups of one tenant's keys, e.g. after changing its quotas or disabling it. */
  invalidateTenant(tenantId: string): void {
    for (const [keyId, entry] of this.#cache) if (entry.key?.tenantId === tenantId) this.#cache.delete(keyId);
  }

  async #load(keyId: string): Promise<CachedKey> {
    const key = await this.registry.findKey(keyId);
    const tenant = key === undefined ? undefined : await this.registry.getTenant(key.tenantId);
    if (tenant !== undefined) this.#quotas?.setQuotas(tenant.id, tenant.quotas);
    const principal: Principal | undefined =
      key === undefined || tenant === undefined
        ? undefined
        : { kind: 'tenant', tenant: tenantContext(tenant.id), record: tenant, keyId };
    const hash = key === undefined ? undefined : Buffer.from(key.hash, 'hex');
    const entry: CachedKey = { key, tenant, until: this.#now() + this.#cacheTtlMs, principal, hash };
    if (principal === undefined) {
      this.#cache.delete(keyId);
      setBounded(this.#misses, MISS_CACHE_LIMIT, keyId, entry);
    } else {
      this.#misses.delete(keyId);
      setBounded(this.#cache, CACHE_LIMIT, keyId, entry);
    }
    return entry;
  }

  #principal(token: string, entry: CachedKey): Principal {
    const { key, tenant } = entry;
    if (key === undefined || tenant === undefined || !apiKeyMatches(token, entry.hash!)) {
      throw new UnauthenticatedError('The API key is not valid.');
    }
    if (key.revokedAt !== null) throw new UnauthenticatedError('The API key was revoked.');
    if (tenant.disabled) throw new ForbiddenError('TENANT_DISABLED', `Tenant "${tenant.id}" is disabled.`);
    return entry.principal!;
  }
}
