import { createHash } from 'node:crypto';
import type { DecisionDraft, ProvenanceRecord } from './records.ts';

/** The `prevHash` of a tenant's first record. */
export const GENESIS_HASH = '0'.repeat(64);

/** SHA-256 of a text, hex. */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The record's hash: SHA-256 over `prevHash`, its sequence number and every field of its
 * content in a fixed order (so a stored record re-read in any key order hashes the same).
 */
export function recordHash(draft: DecisionDraft, seq: number, prevHash: string): string {
  const d = draft;
  const content = JSON.stringify([
    d.tenant,
    seq,
    d.id,
    d.at,
    d.agentId,
    d.runId,
    d.definition,
    d.specVersion,
    d.provider,
    d.model,
    d.modelVersion,
    d.promptHash,
    d.inputHash,
    d.passages.map((p) => [p.documentId, p.chunk, p.documentVersion, p.score]),
    d.toolCalls.map((c) => [c.name, c.argumentsHash, c.resultHash, c.approval, c.approvedBy]),
    d.inputTokens,
    d.outputTokens,
    d.usageReported,
    d.cost,
    d.latencyMs,
    d.steps,
    d.stoppedBy,
    d.errorCode,
    d.traceId,
    d.spanId,
  ]);
  return createHash('sha256').update(prevHash).update('\n').update(content).digest('hex');
}

/** The draft as the next record of its tenant's chain. */
export function chained(draft: DecisionDraft, seq: number, prevHash: string): ProvenanceRecord {
  return { ...draft, seq, prevHash, hash: recordHash(draft, seq, prevHash) };
}

/** The result of checking a tenant's chain: how many records, and the first broken link. */
export interface ChainReport {
  tenant: string;
  records: number;
  ok: boolean;
  /** The first record whose hash or link does not hold. */
  broken?: { seq: number; id: string; reason: string };
}

/**
 * Checks records of one tenant in sequence order: each one's hash covers its content, each
 * links to the one before, and no sequence number is missing. The first record is the anchor
 * (retention prunes the oldest, so the chain may start after 1).
 */
export class ChainVerifier {
  readonly #tenant: string;
  #records = 0;
  #last: ProvenanceRecord | undefined;
  #broken: ChainReport['broken'];

  constructor(tenant: string) {
    this.#tenant = tenant;
  }

  /** Checks the next record; false once the chain is broken (the rest need not be read). */
  add(record: ProvenanceRecord): boolean {
    if (this.#broken !== undefined) return false;
    this.#records++;
    const last = this.#last;
    let reason: string | undefined;
    if (record.tenant !== this.#tenant) reason = 'it belongs to another tenant';
    else if (last !== undefined && record.seq !== last.seq + 1)
      reason = `sequence jumps from ${last.seq} to ${record.seq} (records deleted)`;
    else if (last !== undefined && record.prevHash !== last.hash)
      reason = "its prevHash is not the previous record's hash";
    else if (recordHash(record, record.seq, record.prevHash) !== record.hash)
      reason = 'its content does not match its hash (altered)';
    if (reason !== undefined) {
      this.#broken = { seq: record.seq, id: record.id, reason };
      return false;
    }
    this.#last = record;
    return true;
  }

  report(): ChainReport {
    return {
      tenant: this.#tenant,
      records: this.#records,
      ok: this.#broken === undefined,
      ...(this.#broken === undefined ? {} : { broken: this.#broken }),
    };
  }
}
