import { z } from 'zod';

const hash = z.string().regex(/^[0-9a-f]{64}$/);
const id = z.string().min(1).max(256);

/** A passage the model was given: which chunk of which document, and how well it matched. */
export const provenancePassageSchema = z.strictObject({
  documentId: id,
  chunk: z.number().int().min(0),
  /** The document's version when the knowledge base reports one; null until it does. */
  documentVersion: z.string().max(256).nullable(),
  score: z.number(),
});

/** A tool call of the decision: its name, hashes of its arguments and result, and its approval. */
export const provenanceToolCallSchema = z.strictObject({
  name: z.string().min(1).max(256),
  argumentsHash: hash,
  /** Null when the call has no result (the run was suspended, or failed before it). */
  resultHash: hash.nullable(),
  approval: z.enum(['approved', 'rejected', 'expired']).nullable(),
  /** Who decided the approval; null until the run store records it. */
  approvedBy: z.string().max(256).nullable(),
});

/** What the loop knows of one decision: everything of a record but its place in the chain. */
export const decisionDraftSchema = z.strictObject({
  tenant: id,
  /** Unique id of the record. */
  id,
  /** Milliseconds since the epoch when the decision ended. */
  at: z.number().int().min(0),
  agentId: id,
  runId: id.nullable(),
  definition: z.string().max(256).nullable(),
  specVersion: z.string().max(256).nullable(),
  provider: z.string().max(256).nullable(),
  model: z.string().min(1).max(256),
  /** The model version the vendor reported; null when it reported none. */
  modelVersion: z.string().max(256).nullable(),
  /** SHA-256 of the system prompt and the tool schemas. */
  promptHash: hash,
  /** SHA-256 of the message's input. */
  inputHash: hash,
  passages: z.array(provenancePassageSchema).max(1000),
  toolCalls: z.array(provenanceToolCallSchema).max(10_000),
  inputTokens: z.number().int().min(0),
  outputTokens: z.number().int().min(0),
  /** False when the vendor did not report usage and the tokens are estimates. */
  usageReported: z.boolean(),
  /** Cost in US dollars; null until model prices are configured (budgets). */
  cost: z.number().min(0).nullable(),
  latencyMs: z.number().min(0),
  steps: z.number().int().min(0),
  /** Why the loop ended (`answer`, `max-steps`, `stop-condition`, `awaiting-approval`), or null when it failed. */
  stoppedBy: z.string().max(64).nullable(),
  /** The error's code when the decision failed. */
  errorCode: z.string().max(64).nullable(),
  traceId: z
    .string()
    .regex(/^[0-9a-f]{32}$/)
    .nullable(),
  spanId: z
    .string()
    .regex(/^[0-9a-f]{16}$/)
    .nullable(),
});

/** A stored record: the draft, its sequence number in its tenant's chain, and the chain's hashes. */
export const provenanceRecordSchema = decisionDraftSchema.extend({
  seq: z.number().int().min(1),
  /** The hash of the tenant's record before this one (64 zeros for the first). */
  prevHash: hash,
  /** SHA-256 over this record's content and `prevHash`. */
  hash,
});

export type ProvenancePassage = z.infer<typeof provenancePassageSchema>;
export type ProvenanceToolCall = z.infer<typeof provenanceToolCallSchema>;
export type DecisionDraft = z.infer<typeof decisionDraftSchema>;
export type ProvenanceRecord = z.infer<typeof provenanceRecordSchema>;

/** Where the loop hands its decisions: `record` never blocks nor throws (a `ProvenanceRecorder`). */
export interface ProvenanceSink {
  record(draft: DecisionDraft): void;
}

/** The tenant of decisions made outside any tenant (no authentication, system work). */
export const NO_TENANT = '-';
