// Validator choice: ajv, not zod 4's `z.fromJSONSchema`. Zod's import throws on schemas spec
// files legitimately use (if/then/else, dependentRequired — checked against zod 4.6.7), while
// ajv implements drafts 07, 2019-09 and 2020-12 completely and is the field's reference validator.
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { z } from 'zod';
import { InvalidOptionsError } from '../errors/index.ts';
import {
  checkToolApproval,
  checkToolName,
  checkToolTimeout,
  type Tool,
  type ToolApproval,
  type ToolContext,
} from './define.ts';

/** Arguments as a JSON Schema tool receives them: a JSON object, already validated. */
export type JsonObject = Record<string, unknown>;

/** A JSON Schema as spec files write it (an object at the top). */
export type JsonSchema = Record<string, unknown>;

export interface JsonSchemaToolDefinition<Result> {
  name: string;
  description: string;
  /**
   * The JSON Schema of the arguments, sent to the model as is (minus `$schema`). Its top must
   * be `type: "object"`. Draft-07 unless `$schema` names 2019-09 or 2020-12; `default`s are
   * filled in before `execute` sees the arguments.
   */
  inputSchema: JsonSchema;
  execute: (args: JsonObject, context: ToolContext) => Result | Promise<Result>;
  /** Milliseconds before a call is abandoned (default: the runner's). */
  timeoutMs?: number;
  /** Whether a call waits for a person's approval first. Default `false`. */
  needsApproval?: ToolApproval<JsonObject>;
  /** True when a call may safely run twice (re-run after a crash instead of asking). Default false. */
  idempotent?: boolean;
}

/** A tool whose arguments are described by a JSON Schema; `parameters` wraps the validator. */
export type JsonSchemaTool<Result = unknown> = Tool<z.ZodType<JsonObject>, Result>;

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

const AJV_OPTIONS: Options = {
  allErrors: true, // the model fixes every problem in one go
  strict: false, // vendor keywords (`x-...`, `examples`) in spec files are not an error
  useDefaults: true,
  logger: false,
};

/** One validator per draft, made on first use; `ajv-formats` adds the standard formats. */
const validators = new Map<string, Ajv>();

function ajvFor(draft: '07' | '2019-09' | '2020-12'): Ajv {
  let ajv = validators.get(draft);
  if (ajv === undefined) {
    ajv = (
      draft === '2020-12'
        ? new Ajv2020(AJV_OPTIONS)
        : draft === '2019-09'
          ? new Ajv2019(AJV_OPTIONS)
          : new Ajv(AJV_OPTIONS)
    ) as Ajv;
    addFormats(ajv);
    validators.set(draft, ajv);
  }
  return ajv;
}

function validatorFor(name: string, schema: JsonSchema): ValidateFunction {
  const declared = typeof schema.$schema === 'string' ? schema.$schema : '';
  const ajv = ajvFor(
    declared.includes('2020-12') ? '2020-12' : declared.includes('2019-09') ? '2019-09' : '07',
  );
  try {
    return ajv.compile(schema);
  } catch (error) {
    throw new InvalidOptionsError(
      `Tool ${name}: inputSchema is not a valid JSON Schema: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  } finally {
    // The compiled function stands alone: drop the schema from ajv's cache (and its `$id`), so
    // tenants' tools are not kept forever and two tools may share an `$id`.
    ajv.removeSchema(schema);
  }
}

/** Ajv's errors as zod issues, so the runner reports them like any other bad arguments. */
function issueOf(error: ErrorObject): { path: string[]; message: string } {
  const path = error.instancePath === '' ? [] : error.instancePath.slice(1).split('/').map(unescapePointer);
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'required' && typeof params.missingProperty === 'string') {
    return { path: [...path, params.missingProperty], message: 'is required' };
  }
  if (error.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
    return { path: [...path, params.additionalProperty], message: 'is not an allowed property' };
  }
  return { path, message: error.message ?? `fails ${error.keyword}` };
}

function unescapePointer(segment: string): string {
  return segment.replaceAll('~1', '/').replaceAll('~0', '~');
}

/**
 * Defines a tool from a JSON Schema instead of a zod schema — what spec files and MCP servers
 * declare. The runner validates arguments against the schema before `execute`; bad ones come
 * back to the model as `TOOL_ARGUMENTS_INVALID`, naming each bad field.
 * @throws InvalidOptionsError for a bad name, timeout, or a schema that is not a JSON Schema
 *   object schema.
 */
export function jsonSchemaTool<Result>(definition: JsonSchemaToolDefinition<Result>): JsonSchemaTool<Result> {
  checkToolName(definition?.name);
  const { name, description, inputSchema, execute, timeoutMs, needsApproval, idempotent } = definition;
  if (typeof description !== 'string')
    throw new InvalidOptionsError(`Tool ${name}: description must be a string.`);
  if (typeof execute !== 'function')
    throw new InvalidOptionsError(`Tool ${name}: execute must be a function.`);
  if (typeof inputSchema !== 'object' || inputSchema === null || inputSchema.type !== 'object') {
    throw new InvalidOptionsError(`Tool ${name}: inputSchema must be a JSON Schema with type "object".`);
  }
  checkToolTimeout(name, timeoutMs);
  checkToolApproval(name, needsApproval, idempotent);
  const schema = structuredClone(inputSchema); // later edits by the caller change nothing
  const validate = validatorFor(name, schema);
  const parameters = z.custom<JsonObject>().superRefine((value, ctx) => {
    if (validate(value)) return;
    for (const error of validate.errors ?? []) ctx.addIssue({ code: 'custom', ...issueOf(error) });
  });
  const { $schema: _ignored, ...sent } = schema;
  return {
    name,
    description,
    parameters,
    spec: { name, description, parameters: sent },
    timeoutMs,
    needsApproval: needsApproval === false ? undefined : needsApproval,
    idempotent: idempotent ?? false,
    execute,
  };
}
