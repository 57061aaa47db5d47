// ajv, the field's reference JSON Schema validator (drafts 07, 2019-09, 2020-12), as src/tools uses.
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const OPTIONS: Options = { allErrors: true, strict: false, logger: false };

/** A fresh validator instance for a schema's draft (from `$schema`; draft-07 otherwise). */
function ajvFor(schema: Record<string, unknown>): Ajv {
  const draft = typeof schema.$schema === 'string' ? schema.$schema : '';
  const ajv = draft.includes('2020-12')
    ? new Ajv2020(OPTIONS)
    : draft.includes('2019-09')
      ? new Ajv2019(OPTIONS)
      : new Ajv(OPTIONS);
  addFormats(ajv as Ajv);
  return ajv;
}

/** Why `schema` is not a usable JSON Schema, or `undefined` when it is. */
export function jsonSchemaProblem(schema: Record<string, unknown>): string | undefined {
  try {
    ajvFor(schema).compile(schema);
    return undefined;
  } catch (error) {
    return `not a valid JSON Schema: ${(error as Error).message}`;
  }
}

/** Compiles a schema already checked with `jsonSchemaProblem`. */
export function compileJsonSchema(schema: Record<string, unknown>): ValidateFunction {
  return ajvFor(schema).compile(schema);
}

/** Ajv's errors as `path: message` lines (`path` dotted, `(root)` for the whole value). */
export function describeJsonSchemaErrors(errors: readonly ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((error) => {
    const segments = error.instancePath === '' ? [] : error.instancePath.slice(1).split('/');
    const params = error.params as Record<string, unknown>;
    if (error.keyword === 'required' && typeof params.missingProperty === 'string')
      return `${[...segments, params.missingProperty].join('.')}: is required`;
    if (error.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string')
      return `${[...segments, params.additionalProperty].join('.')}: is not an allowed property`;
    return `${segments.length === 0 ? '(root)' : segments.join('.')}: ${error.message ?? `fails ${error.keyword}`}`;
  });
}
