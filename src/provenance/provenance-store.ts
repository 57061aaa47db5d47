import { z } from 'zod';
import type { ChainReport } from './chain.ts';
import type { DecisionDraft, ProvenanceRecord } from './records.ts';

const text = z.string().min(1).max(256);
const time = z.union([
  z.coerce.number().int().min(0),
  z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
]);

/**
 * A query of one tenant's records (`GET /v1/provenance`), every filter optional: `document`
 * finds the decisions that used a document, `modelVersion` (or `model`) with `from`/`to` the
 * answers of a model version in a period. Oldest first; `after` is the last `seq` of a page.
 */
export const provenanceQuerySchema = z.strictObject({
  agent: text.optional(),
  run: text.optional(),
  trace: z
    .string()
    .regex(/^[0-9a-f]{32}$/)
    .optional(),
  document: text.optional(),
  model: text.optional(),
  modelVersion: text.optional(),
  /** Milliseconds since the epoch or an ISO date, inclusive. */
  from: time.optional(),
  /** Milliseconds since the epoch or an ISO date, exclusive. */
  to: time.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  after: z.coerce.number().int().min(0).optional(),
});

export type ProvenanceQuery = z.input<typeof provenanceQuerySchema>;
export type ParsedProvenanceQuery = z.output<typeof provenanceQuerySchema>;

/** A page of records and where the next one starts (absent on the last page). */
export interface ProvenancePage {
  records: ProvenanceRecord[];
  next?: number;
}

/**
 * Where decision records are kept, chained per tenant. `append` gives each draft the next
 * sequence number of its tenant and the hash linking it to the one before; everything else
 * reads one tenant at a time. Implementations: `SqliteProvenanceStore` (the node's embedded
 * default) and `PostgresProvenanceStore`; both pass `provenanceStoreContract`.
 */
export interface ProvenanceStore {
  /** Appends a batch in one transaction, in order. */
  append(drafts: readonly DecisionDraft[]): Promise<void>;
  /** One page of a tenant's records matching the query. @throws ProvenanceError on a bad row. */
  query(tenant: string, query: ParsedProvenanceQuery): Promise<ProvenancePage>;
  /** Checks a tenant's chain from its oldest record kept. */
  verify(tenant: string): Promise<ChainReport>;
  /** Tenants that have records. */
  tenants(): Promise<string[]>;
  /** Deletes records older than `before` (ms); returns how many. */
  prune(before: number): Promise<number>;
  /** Deletes every record of the tenant (tenant deletion). */
  purgeTenant(tenant: string): Promise<{ records: number }>;
  close(): Promise<void>;
}
