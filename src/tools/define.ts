import { z } from 'zod';
import { InvalidOptionsError } from '../errors/index.ts';
import type { ToolSpec } from '../llm/index.ts';

/** What a tool's `execute` gets besides its arguments. */
export interface ToolContext {
  /** Aborts when the run is cancelled or the tool's timeout passes. */
  signal: AbortSignal;
  /** The model's id for this call. */
  callId: string;
  /** The agent whose model asked for the call, when the runner was told (`run(calls, { agentId })`). */
  agentId?: string;
}

/** A tool the model can call: arguments are validated by `parameters` before `execute` sees them. */
export interface Tool<Schema extends z.ZodType = z.ZodType, Result = unknown> {
  readonly name: string;
  readonly description: string;
  readonly parameters: Schema;
  /** The JSON Schema sent to the model, generated from `parameters`. */
  readonly spec: ToolSpec;
  /** Milliseconds before a call is abandoned (default: the runner's). */
  readonly timeoutMs: number | undefined;
  /** Whether a call waits for a person's approval first (see `ToolApproval`). Default never. */
  readonly needsApproval: ToolApproval<z.output<Schema>> | undefined;
  /**
   * True when running a call twice does no harm: a durable run that crashed after starting
   * the call re-runs it on resume. Otherwise the run asks a person. Default false.
   */
  readonly idempotent: boolean;
  execute(args: z.output<Schema>, context: ToolContext): Result | Promise<Result>;
}

/**
 * When a call needs a person's approval: always (`true`), never (`false`), or as a function
 * of its validated arguments and context returning true, false, or a reason shown to the
 * approver (e.g. "amount 500 is over the 100 limit").
 */
export type ToolApproval<Args = unknown> =
  | boolean
  | ((
      args: Args,
      context: { agentId?: string; callId: string },
    ) => boolean | string | Promise<boolean | string>);

export interface ToolDefinition<Schema extends z.ZodType, Result> {
  name: string;
  description: string;
  parameters: Schema;
  execute: (args: z.output<Schema>, context: ToolContext) => Result | Promise<Result>;
  timeoutMs?: number;
  /** Whether a call waits for a person's approval first. Default `false`. */
  needsApproval?: ToolApproval<z.output<Schema>>;
  /** True when a call may safely run twice (re-run after a crash instead of asking). Default false. */
  idempotent?: boolean;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Throws `INVALID_OPTIONS` unless `name` is 1–64 letters, digits, `_` or `-`. */
export function checkToolName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new InvalidOptionsError(`A tool name must match ${NAME}; got ${JSON.stringify(name)}.`);
  }
}

/** Throws `INVALID_OPTIONS` unless `timeoutMs` is undefined or a positive integer. */
export function checkToolTimeout(name: string, timeoutMs: unknown): asserts timeoutMs is number | undefined {
  if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && (timeoutMs as number) > 0)) {
    throw new InvalidOptionsError(`Tool ${name}: timeoutMs must be a positive integer.`);
  }
}

/** Throws `INVALID_OPTIONS` unless `needsApproval` is a boolean or function and `idempotent` a boolean. */
export function checkToolApproval(name: string, needsApproval: unknown, idempotent: unknown): void {
  if (
    needsApproval !== undefined &&
    typeof needsApproval !== 'boolean' &&
    typeof needsApproval !== 'function'
  )
    throw new InvalidOptionsError(`Tool ${name}: needsApproval must be a boolean or a function.`);
  if (idempotent !== undefined && typeof idempotent !== 'boolean')
    throw new InvalidOptionsError(`Tool ${name}: idempotent must be a boolean.`);
}

/** The JSON Schema of a zod schema, as vendors take it (no `$schema` key, an object at the top). */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { target: 'draft-7', io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  const { $schema: _ignored, ...rest } = json;
  return rest;
}

/** Defines a tool; its name must be 1–64 letters, digits, `_` or `-` (every vendor accepts that). */
export function defineTool<Schema extends z.ZodType, Result>(
  definition: ToolDefinition<Schema, Result>,
): Tool<Schema, Result> {
  checkToolName(definition?.name);
  if (!(definition.parameters instanceof z.ZodType)) {
    throw new InvalidOptionsError(`Tool ${definition.name}: parameters must be a zod schema.`);
  }
  if (typeof definition.execute !== 'function') {
    throw new InvalidOptionsError(`Tool ${definition.name}: execute must be a function.`);
  }
  const parameters = jsonSchemaOf(definition.parameters);
  if (parameters.type !== 'object') {
    throw new InvalidOptionsError(`Tool ${definition.name}: parameters must be a z.object(...) schema.`);
  }
  checkToolTimeout(definition.name, definition.timeoutMs);
  checkToolApproval(definition.name, definition.needsApproval, definition.idempotent);
  return {
    name: definition.name,
    description: definition.description,
    parameters: definition.parameters,
    spec: { name: definition.name, description: definition.description, parameters },
    timeoutMs: definition.timeoutMs,
    needsApproval: definition.needsApproval === false ? undefined : definition.needsApproval,
    idempotent: definition.idempotent ?? false,
    execute: definition.execute,
  };
}
