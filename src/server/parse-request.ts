import type { z } from 'zod';
import { formatIssues } from '../errors/index.ts';
import { HttpError } from './http-errors.ts';

/**
 * Validates a request body or query against its schema.
 * @throws HttpError `INVALID_REQUEST` (400) naming each problem, `what` saying which part it was.
 */
export function parseRequest<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const problems = formatIssues(result.error);
    throw new HttpError('INVALID_REQUEST', `Invalid ${what}: ${problems.join('; ')}`, {
      details: { problems },
    });
  }
  return result.data;
}
