import { AgentfleetError, type AgentfleetErrorOptions } from '../errors/index.ts';
import type { ProvenanceErrorCode } from './error-codes.ts';

/** A provenance failure with a stable code: a row the store cannot read. */
export class ProvenanceError extends AgentfleetError<ProvenanceErrorCode> {
  declare readonly code: ProvenanceErrorCode;
  constructor(code: ProvenanceErrorCode, message: string, options?: AgentfleetErrorOptions) {
    super(code, message, options);
  }
}

/** A row read back from a store is not a record the store writes. */
export function corruptRecord(key: string, problems: readonly string[]): ProvenanceError {
  return new ProvenanceError(
    'PROVENANCE_STORE_CORRUPT',
    `The provenance store holds a record "${key}" it cannot read: ${problems.join('; ')}.`,
    { details: { key, problems: problems.slice(0, 10) } },
  );
}
