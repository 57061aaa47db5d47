import { AgentfleetError } from '../errors/index.ts';
import type { KnowledgeErrorCode } from './error-codes.ts';

/** Which knowledge quota a refusal is about. */
export type KnowledgeQuota = 'maxDocumentsPerTenant' | 'maxBytesPerTenant';

/** A tenant is at its knowledge quota; nothing it stored is touched. Maps to HTTP 429. */
export class KnowledgeQuotaExceededError extends AgentfleetError<KnowledgeErrorCode> {
  constructor(tenant: string, quota: KnowledgeQuota, limit: number, wanted: number) {
    const what = quota === 'maxDocumentsPerTenant' ? 'documents' : 'bytes of text';
    super(
      'QUOTA_EXCEEDED',
      `Tenant "${tenant}" may hold ${limit} ${what} in the knowledge base (${quota}); this upsert would make ` +
        `it ${wanted}. Delete documents, or ask the operator to raise ${quota}.`,
      { details: { tenant, quota, limit, wanted } },
    );
  }
}

/**
 * Documents and text bytes per tenant, counted as they will be once every queued change is on
 * disk, so concurrent upserts cannot pass a quota together.
 */
export class TenantUsage {
  readonly #tenants = new Map<string, { sizes: Map<string, number>; bytes: number }>();

  documents(tenant: string): number {
    return this.#tenants.get(tenant)?.sizes.size ?? 0;
  }

  bytes(tenant: string): number {
    return this.#tenants.get(tenant)?.bytes ?? 0;
  }

  /** Text bytes of one document, or undefined when the tenant has none with that id. */
  sizeOf(tenant: string, id: string): number | undefined {
    return this.#tenants.get(tenant)?.sizes.get(id);
  }

  /** Ids of the tenant's documents. */
  ids(tenant: string): string[] {
    return [...(this.#tenants.get(tenant)?.sizes.keys() ?? [])];
  }

  /** Sets a document's text bytes, or removes it (`undefined`). */
  set(tenant: string, id: string, bytes: number | undefined): void {
    let usage = this.#tenants.get(tenant);
    if (usage === undefined) {
      if (bytes === undefined) return;
      usage = { sizes: new Map(), bytes: 0 };
      this.#tenants.set(tenant, usage);
    }
    usage.bytes -= usage.sizes.get(id) ?? 0;
    if (bytes === undefined) {
      usage.sizes.delete(id);
      if (usage.sizes.size === 0) this.#tenants.delete(tenant);
    } else {
      usage.sizes.set(id, bytes);
      usage.bytes += bytes;
    }
  }

  dropTenant(tenant: string): void {
    this.#tenants.delete(tenant);
  }
}
