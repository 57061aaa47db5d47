// What the fake vendor answers, decided from the request, before any vendor's spelling.

/** Vendor JSON, read loosely: the fake trusts its own tests. */
// biome-ignore lint/suspicious/noExplicitAny: request bodies of three vendors, read by a test fake
export type Body = Record<string, any>;

/** A normalised view of a request, read from any vendor's body. */
export interface SeenRequest {
  lastUserText: string;
  toolResults: string[];
  tools: Array<{ name: string; parameters: Record<string, unknown> }>;
  characters: number;
}

/** Errors a vendor reports inside a stream (or in a 200 body when not streaming), in its own words. */
export type MidStreamError = 'ratelimit' | 'server' | 'overloaded' | 'context' | 'inspection' | 'badrequest';

export type Answer =
  | {
      kind: 'text';
      text: string;
      /** End the stream after the finish reason, without `[DONE]` / `message_stop`. */
      unterminated?: boolean;
    }
  | {
      kind: 'calls';
      calls: Array<{ id: string; name: string; arguments: string }>;
      /** Stream each function name in two pieces. */
      splitName?: boolean;
    }
  | { kind: 'midstream'; error: MidStreamError }
  /** A 200 answer whose JSON body is the vendor's rate-limit error, streamed or not. */
  | { kind: 'error200' }
  | { kind: 'error'; status: number; error: 'auth' | 'ratelimit' | 'server' | 'context' }
  | { kind: 'malformed' }
  | { kind: 'reset' }
  | { kind: 'stall' };

export const SCENARIOS = [
  'echo',
  'tool',
  'tools3',
  'parallel',
  'json',
  'nousage',
  'auth',
  'ratelimit',
  'server',
  'context',
  'malformed',
  'reset',
  'stall',
  'midratelimit',
  'midserver',
  'midoverloaded',
  'midcontext',
  'midinspection',
  'midbadrequest',
  'error200',
  'nodone',
  'splitname',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** `x-mock-scenario`, else a last user message starting `scenario:<name>`, else echo. */
export function scenarioOf(header: string | undefined, seen: SeenRequest): Scenario {
  const named = header ?? /^scenario:([a-z0-9]+)/.exec(seen.lastUserText)?.[1];
  return (SCENARIOS as readonly string[]).includes(named ?? '') ? (named as Scenario) : 'echo';
}

/** A value for a JSON Schema: strings "x", numbers 3, booleans true, objects field by field. */
export function sample(schema: Record<string, unknown>): unknown {
  switch (schema.type) {
    case 'string':
      return 'x';
    case 'number':
    case 'integer':
      return 3;
    case 'boolean':
      return true;
    case 'array':
      return [sample((schema.items as Record<string, unknown>) ?? {})];
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(
        (schema.properties as Record<string, Record<string, unknown>>) ?? {},
      )) {
        out[k] = sample(v);
      }
      return out;
    }
    default:
      return null;
  }
}

function call(seen: SeenRequest, i: number, tool = seen.tools[0]) {
  return {
    id: `call_${seen.toolResults.length}_${i}`,
    name: tool?.name ?? 'none',
    arguments: JSON.stringify(sample(tool?.parameters ?? {})),
  };
}

export function answer(scenario: Scenario, seen: SeenRequest): Answer {
  switch (scenario) {
    case 'tool':
    case 'splitname':
    case 'tools3': {
      const needed = scenario === 'tools3' ? 3 : 1;
      if (seen.tools.length > 0 && seen.toolResults.length < needed)
        return { kind: 'calls', calls: [call(seen, 0)], splitName: scenario === 'splitname' };
      return { kind: 'text', text: `done: ${seen.toolResults.at(-1) ?? ''}` };
    }
    case 'parallel':
      if (seen.tools.length > 0 && seen.toolResults.length === 0) {
        return {
          kind: 'calls',
          calls: [call(seen, 1, seen.tools[0]), call(seen, 2, seen.tools[1] ?? seen.tools[0])],
        };
      }
      return { kind: 'text', text: `done: ${seen.toolResults.join(' | ')}` };
    case 'json':
      return { kind: 'text', text: JSON.stringify({ answer: 'x', score: 3 }) };
    case 'auth':
      return { kind: 'error', status: 401, error: 'auth' };
    case 'ratelimit':
      return { kind: 'error', status: 429, error: 'ratelimit' };
    case 'server':
      return { kind: 'error', status: 500, error: 'server' };
    case 'context':
      return { kind: 'error', status: 400, error: 'context' };
    case 'malformed':
    case 'reset':
    case 'stall':
    case 'error200':
      return { kind: scenario };
    case 'midratelimit':
    case 'midserver':
    case 'midoverloaded':
    case 'midcontext':
    case 'midinspection':
    case 'midbadrequest':
      return { kind: 'midstream', error: scenario.slice(3) as MidStreamError };
    case 'nodone':
      return { kind: 'text', text: `echo: ${seen.lastUserText}`, unterminated: true };
    default:
      return { kind: 'text', text: `echo: ${seen.lastUserText}` };
  }
}

/** Splits text into pieces of `size` characters (a stream's deltas). */
export function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

export const tokens = (characters: number) => Math.ceil(characters / 4);
