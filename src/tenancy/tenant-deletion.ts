import { InvalidTenantIdError, TENANT_ID_PATTERN } from '../context/index.ts';
import { AbortedError } from '../errors/index.ts';
import { TenantDeletionError, TenantNotFoundError } from './errors.ts';
import type { TenantRegistry } from './registry.ts';

/**
 * Something that holds data or work for tenants (agents, state, conversations, documents,
 * quota windows, keys) and can drop all of one tenant's. `purgeTenant` must be idempotent:
 * a retried deletion calls it again, and it then finds nothing left.
 */
export interface TenantPurger {
  /** Names the owner in results and errors (`agents`, `state`, `knowledge`, …). */
  readonly name: string;
  /** Drops everything the tenant owns here; resolves to a summary (e.g. `{ agents: 3 }`) or nothing. */
  purgeTenant(tenantId: string, options?: { signal?: AbortSignal }): Promise<unknown>;
}

/** What `TenantDeletion.delete` did: each purger's summary, by name. */
export interface TenantDeletionResult {
  tenant: string;
  purged: Record<string, unknown>;
}

/** Options of `TenantDeletion`. */
export interface TenantDeletionOptions {
  /** Where the tenant is registered; without one, only the purgers run (a library without a registry). */
  registry?: TenantRegistry;
  /** Every owner of tenant data, in the order they are purged. */
  purgers?: readonly TenantPurger[];
}

/**
 * Deleting a tenant, the one way the server and library code both use: the tenant is
 * disabled first (its keys are refused, no new work is accepted), then every purger drops
 * what the tenant owns, and only then is the registry entry removed. A purger that fails
 * leaves the tenant registered and disabled and is reported in `TenantDeletionError`;
 * deleting again resumes, so a tenant re-created with the same id never sees the old one's data.
 */
export class TenantDeletion {
  readonly #registry: TenantRegistry | undefined;
  readonly #purgers: TenantPurger[];

  constructor(options: TenantDeletionOptions = {}) {
    this.#registry = options.registry;
    this.#purgers = [...(options.purgers ?? [])];
  }

  /** Adds an owner, purged after those already added. */
  add(purger: TenantPurger): this {
    this.#purgers.push(purger);
    return this;
  }

  /** The purgers' names, in order. */
  get purgers(): string[] {
    return this.#purgers.map((p) => p.name);
  }

  /**
   * Deletes the tenant and everything it owns.
   * @throws InvalidTenantIdError; TenantNotFoundError when the registry has no such tenant;
   * TenantDeletionError when a purger failed (retry to finish); AbortedError when `signal` fired.
   */
  async delete(tenantId: string, options: { signal?: AbortSignal } = {}): Promise<TenantDeletionResult> {
    if (typeof tenantId !== 'string' || !TENANT_ID_PATTERN.test(tenantId)) {
      throw new InvalidTenantIdError(tenantId);
    }
    const { signal } = options;
    const registry = this.#registry;
    if (registry !== undefined) {
      const tenant = await registry.getTenant(tenantId);
      if (tenant === undefined) throw new TenantNotFoundError(tenantId);
      if (!tenant.disabled) await registry.updateTenant(tenantId, { disabled: true });
    }
    const purged: Record<string, unknown> = {};
    const failures: Array<{ purger: string; error: unknown }> = [];
    for (const purger of this.#purgers) {
      if (signal?.aborted) throw new AbortedError(`Deleting tenant "${tenantId}" was aborted.`);
      try {
        purged[purger.name] = (await purger.purgeTenant(tenantId, { signal })) ?? null;
      } catch (error) {
        if (signal?.aborted) throw new AbortedError(`Deleting tenant "${tenantId}" was aborted.`);
        failures.push({ purger: purger.name, error });
      }
    }
    if (failures.length > 0) throw new TenantDeletionError(tenantId, failures);
    await registry?.deleteTenant(tenantId);
    return { tenant: tenantId, purged };
  }
}
