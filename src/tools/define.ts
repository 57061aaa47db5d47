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
  execute(args: z.output<Schema>, context: ToolContext): Result | Promise<Result>;
}

export interface ToolDefinition<Schema extends z.ZodType, Result> {
  name: string;
  description: string;
  parameters: Schema;
  execute: (args: z.output<Schema>, context: ToolContext) => Result | Promise<Result>;
  timeoutMs?: number;
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
  return {
    name: definition.name,
    description: definition.description,
    parameters: definition.parameters,
    spec: { name: definition.name, description: definition.description, parameters },
    timeoutMs: definition.timeoutMs,
    execute: definition.execute,
  };
}
