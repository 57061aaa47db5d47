import { AgentfleetError, type AgentfleetErrorOptions } from '../errors/index.ts';
import type { AutoscaleErrorCode } from './error-codes.ts';

/**
 * Every error autoscaling throws or records: `AUTOSCALE_POLICY_INVALID` (a bad policy; the
 * message and `details.problems` name each bad field, 400), `AUTOSCALE_SOURCE_UNAVAILABLE` (a
 * metric source cannot be reached, timed out or failed, 503), `AUTOSCALE_QUERY_INVALID` (the
 * source refused the query: bad PromQL, an unknown node metric, a result that is not a number, 400).
 */
export class AutoscaleError extends AgentfleetError<AutoscaleErrorCode> {
  constructor(code: AutoscaleErrorCode, message: string, options?: AgentfleetErrorOptions) {
    super(code, message, options);
  }
}

/** The message of an error and of its causes (`fetch failed: connect ECONNREFUSED 127.0.0.1:9090`). */
export function describeCause(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
    if (current instanceof AggregateError && current.errors.length > 0 && current.message === '') {
      current = current.errors[0];
      continue;
    }
    const message = current instanceof Error ? current.message : String(current);
    if (message !== '' && !parts.includes(message)) parts.push(message);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(': ') || 'unknown error';
}
