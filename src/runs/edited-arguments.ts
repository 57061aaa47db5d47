import { Ajv, type Options } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { RunsError } from './errors.ts';

const OPTIONS: Options = { allErrors: true, strict: false, logger: false };

/**
 * Checks arguments a person edited before approving a call: JSON text of an object that
 * satisfies the tool's JSON Schema (ajv, as the tools use). Decisions are rare, so the
 * schema is compiled per check.
 * @throws RunsError `APPROVAL_ARGUMENTS_INVALID` naming each problem.
 */
export function checkEditedArguments(text: string, schema: Record<string, unknown> | undefined): void {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalid([`not JSON: ${(error as Error).message}`]);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid(['the arguments must be a JSON object']);
  if (schema === undefined) return;
  const draft = typeof schema.$schema === 'string' ? schema.$schema : '';
  const ajv = draft.includes('2020-12')
    ? new Ajv2020(OPTIONS)
    : draft.includes('2019-09')
      ? new Ajv2019(OPTIONS)
      : new Ajv(OPTIONS);
  let validate: ReturnType<Ajv['compile']>;
  try {
    validate = ajv.compile(schema);
  } catch {
    return; // the tool's schema is the tool's business: its own validation runs when the call does
  }
  if (!validate(value))
    throw invalid(
      (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`),
    );
}

function invalid(problems: string[]): RunsError {
  return new RunsError(
    'APPROVAL_ARGUMENTS_INVALID',
    `The edited arguments are not valid: ${problems.join('; ')}.`,
    {
      details: { problems: problems.slice(0, 20) },
    },
  );
}
