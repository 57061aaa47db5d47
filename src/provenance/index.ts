/**
 * Provenance: a record of every LLM decision (who, which spec and model, hashes of prompt and
 * input, passages, tool calls, tokens, latency, outcome, trace), written off the hot path in
 * batches, hash-chained per tenant and queryable for an audit.
 */
export { type ChainReport, ChainVerifier, GENESIS_HASH, recordHash, sha256 } from './chain.ts';
export type { ProvenanceErrorCode } from './error-codes.ts';
export { corruptRecord, ProvenanceError } from './errors.ts';
export { openProvenanceStore } from './open-store.ts';
export {
  ProvenanceRecorder,
  type ProvenanceRecorderOptions,
  type ProvenanceRecorderStats,
} from './provenance-recorder.ts';
export {
  type ParsedProvenanceQuery,
  type ProvenancePage,
  type ProvenanceQuery,
  type ProvenanceStore,
  provenanceQuerySchema,
} from './provenance-store.ts';
export { readRecord } from './read-record.ts';
export {
  type DecisionDraft,
  decisionDraftSchema,
  NO_TENANT,
  type ProvenancePassage,
  type ProvenanceRecord,
  type ProvenanceSink,
  type ProvenanceToolCall,
  provenanceRecordSchema,
} from './records.ts';
export { SqliteProvenanceStore, type SqliteProvenanceStoreOptions } from './sqlite-provenance-store.ts';
