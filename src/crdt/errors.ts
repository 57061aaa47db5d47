import type { z } from 'zod';
import { AgentfleetError, type AgentfleetErrorOptions, formatIssues } from '../errors/index.ts';
import type { CrdtErrorCode } from './error-codes.ts';

/**
 * A CRDT failure with a stable code: a malformed or foreign delta (`CRDT_INVALID`), a bad node
 * id, a local operation out of range, or a remote clock too far ahead (`CRDT_CLOCK_SKEW`).
 */
export class CrdtError extends AgentfleetError<CrdtErrorCode> {
  declare readonly code: CrdtErrorCode;
  constructor(code: CrdtErrorCode, message: string, options?: AgentfleetErrorOptions) {
    super(code, message, options);
  }
}

/** A state or delta that is not a valid `type` (wrong tag, negative counter, bad id, broken invariant). */
export function invalidCrdt(type: string, problems: readonly string[]): CrdtError {
  return new CrdtError(
    'CRDT_INVALID',
    `Not a valid ${type} state or delta: ${problems.slice(0, 5).join('; ')}.`,
    {
      details: { type, problems: problems.slice(0, 10) },
    },
  );
}

/** A local operation given an argument it cannot apply (a non-positive increment, an overflow). */
export function invalidOp(type: string, problem: string): CrdtError {
  return new CrdtError('CRDT_OP_INVALID', `${type}: ${problem}.`, { details: { type } });
}

/** Parses untrusted JSON with `schema`, throwing `CRDT_INVALID` naming every problem. */
export function parseCrdt<S extends z.ZodType>(type: string, schema: S, json: unknown): z.output<S> {
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  throw invalidCrdt(type, formatIssues(result.error));
}
