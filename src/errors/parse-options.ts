import type { z } from 'zod';
import { InvalidOptionsError } from './agentfleet-error.ts';

/**
 * Validates an options object against its zod schema once, at the edge, and throws an
 * `InvalidOptionsError` naming every bad field and the value it had.
 */
export function parseOptions<S extends z.ZodType>(what: string, schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const problems = formatIssues(result.error);
  throw new InvalidOptionsError(`Invalid ${what} options: ${problems.join('; ')}`, {
    details: { problems },
  });
}

/** Formats zod issues as `path: message` lines for error messages and `details.problems`. */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map(
    (issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`,
  );
}
