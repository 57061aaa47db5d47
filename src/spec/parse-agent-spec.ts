import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { z } from 'zod';
import { type AgentSpecDocument, agentSpecSchema } from './agent-spec-schema.ts';
import { SpecInvalidError, type SpecProblem } from './errors.ts';
import { jsonSchemaProblem } from './json-schema-check.ts';

/** Options of `parseAgentSpec`. */
export interface ParseAgentSpecOptions {
  /** Where the text came from (a file path), named in every problem. Default `spec`. */
  source?: string;
  /** How to read the text. Default: `json` for a `.json` source, else `yaml` (which also reads JSON). */
  format?: 'yaml' | 'json';
}

type Path = ReadonlyArray<PropertyKey>;

/** Finds a path's node in a YAML document: the value's range, or a key's for `key: true`. */
function locate(root: unknown, path: Path, key = false): [number, number] | undefined {
  let node = root as Node | null | undefined;
  let range = node?.range;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (pair === undefined) break;
      const last = i === path.length - 1;
      const target = (last && key ? pair.key : (pair.value ?? pair.key)) as Node | null;
      range = target?.range ?? range;
      node = pair.value as Node | null;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined;
      if (item === undefined) break;
      range = item.range ?? range;
      node = item;
    } else break;
  }
  return range == null ? undefined : [range[0], range[1]];
}

function at(lines: LineCounter, offset: number | undefined): { line?: number; column?: number } {
  if (offset === undefined) return {};
  const { line, col } = lines.linePos(offset);
  return { line, column: col };
}

function dotted(path: Path): string {
  return path.length === 0 ? '(root)' : path.map(String).join('.');
}

/** Zod issues as problems, one per unknown key, each placed in the source. */
function problemsOf(
  issues: z.core.$ZodIssue[],
  root: unknown,
  lines: LineCounter,
  source: string,
): SpecProblem[] {
  const problems: SpecProblem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) {
        const path = [...issue.path, k];
        problems.push({
          source,
          path: dotted(path),
          message: 'is not a known field',
          ...at(lines, locate(root, path, true)?.[0]),
        });
      }
      continue;
    }
    problems.push({
      source,
      path: dotted(issue.path),
      message: issue.message,
      ...at(lines, locate(root, issue.path)?.[0]),
    });
  }
  return problems;
}

/** JSON Schemas inside a spec (input, output, HTTP tool parameters) must compile. */
function schemaProblems(spec: AgentSpecDocument): Array<{ path: Path; message: string }> {
  const found: Array<{ path: Path; message: string }> = [];
  const check = (path: Path, schema: Record<string, unknown> | undefined, object = false) => {
    if (schema === undefined) return;
    const why = jsonSchemaProblem(schema);
    if (why !== undefined) found.push({ path, message: why });
    else if (object && schema.type !== 'object')
      found.push({ path: [...path, 'type'], message: 'must be "object"' });
  };
  check(['input'], spec.input);
  if (spec.cognition.type === 'llm') check(['cognition', 'output'], spec.cognition.output);
  spec.tools?.forEach((tool, i) => {
    if (tool.type === 'http') check(['tools', i, 'parameters'], tool.parameters, true);
  });
  if (spec.cognition.type !== 'llm')
    for (const key of ['tools', 'memory', 'fallbacks', 'resilience'] as const)
      if (spec[key] !== undefined)
        found.push({
          path: [key],
          message: `only an llm cognition uses ${key} (this one is ${spec.cognition.type})`,
        });
  const names = new Map<string, number>();
  spec.tools?.forEach((tool, i) => {
    const name = 'name' in tool ? tool.name : undefined;
    if (name === undefined) return;
    const first = names.get(name);
    if (first !== undefined)
      found.push({ path: ['tools', i, 'name'], message: `duplicate tool name (also tools.${first})` });
    else names.set(name, i);
  });
  return found;
}

/**
 * Parses and validates one agent spec (YAML or JSON text; one definition per file).
 * Does not touch the file system: `systemFile` and `knowledge.documents` are checked by `loadAgentSpecs`.
 * @throws SpecInvalidError listing every problem with its path and `line:column` in `source`.
 */
export function parseAgentSpec(text: string, options: ParseAgentSpecOptions = {}): AgentSpecDocument {
  const source = options.source ?? 'spec';
  const format = options.format ?? (/\.json$/i.test(source) ? 'json' : 'yaml');
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  let value: unknown;
  if (format === 'json') {
    try {
      value = JSON.parse(text);
    } catch (error) {
      const message = (error as Error).message;
      const m = /line (\d+) column (\d+)/.exec(message);
      throw new SpecInvalidError([
        {
          source,
          path: '(root)',
          message: `not JSON: ${message}`,
          ...(m ? { line: Number(m[1]), column: Number(m[2]) } : {}),
        },
      ]);
    }
  } else {
    if (doc.errors.length > 0) {
      throw new SpecInvalidError(
        doc.errors.map((e) => ({
          source,
          path: '(root)',
          message: `not YAML: ${e.message.split('\n')[0]}`,
          ...(e.linePos?.[0] ? { line: e.linePos[0].line, column: e.linePos[0].col } : {}),
        })),
      );
    }
    value = doc.toJS({ maxAliasCount: 100 });
  }
  const root = doc.errors.length === 0 ? doc.contents : undefined;
  const parsed = agentSpecSchema.safeParse(value ?? {});
  if (!parsed.success) throw new SpecInvalidError(problemsOf(parsed.error.issues, root, lines, source));
  const extra = schemaProblems(parsed.data);
  if (extra.length > 0)
    throw new SpecInvalidError(
      extra.map((p) => ({
        source,
        path: dotted(p.path),
        message: p.message,
        ...at(lines, locate(root, p.path)?.[0]),
      })),
    );
  return parsed.data;
}
