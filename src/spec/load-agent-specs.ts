import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { AbortedError } from '../errors/index.ts';
import type { AgentSpecDocument } from './agent-spec-schema.ts';
import { formatProblem, SpecInvalidError, type SpecProblem } from './errors.ts';
import { parseAgentSpec } from './parse-agent-spec.ts';

/** A validated spec with what its files resolved to. */
export interface LoadedAgentSpec {
  spec: AgentSpecDocument;
  /** The spec file (absolute), or the label it was parsed under. */
  source: string;
  /** The folder relative paths in the spec are resolved against. */
  baseDir: string;
  /** The system prompt: `cognition.system`, or the text of `cognition.systemFile`. */
  system: string | undefined;
  /** `knowledge.documents`, resolved to absolute paths (each checked to be a readable file). */
  documents: string[];
}

/** Options of `loadAgentSpecs`. */
export interface LoadAgentSpecsOptions {
  signal?: AbortSignal;
}

const SPEC_FILE = /\.(ya?ml|json)$/i;

function checkSignal(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortedError('Loading agent specs was aborted.', { cause: signal.reason });
}

/**
 * Resolves the files a parsed spec names (`systemFile`, `knowledge.documents`) against
 * `baseDir`, adding a problem for each missing one.
 */
export async function resolveSpecFiles(
  spec: AgentSpecDocument,
  source: string,
  baseDir: string,
  problems: SpecProblem[],
): Promise<LoadedAgentSpec> {
  let system = spec.cognition.type === 'llm' ? spec.cognition.system : undefined;
  if (spec.cognition.type === 'llm' && spec.cognition.systemFile !== undefined) {
    const file = resolve(baseDir, spec.cognition.systemFile);
    try {
      system = await readFile(file, 'utf8');
    } catch (error) {
      problems.push({
        source,
        path: 'cognition.systemFile',
        message: `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      });
    }
  }
  const documents: string[] = [];
  for (const [i, doc] of (spec.knowledge?.documents ?? []).entries()) {
    const file = resolve(baseDir, doc);
    const info = await stat(file).catch(() => undefined);
    if (info?.isFile()) documents.push(file);
    else problems.push({ source, path: `knowledge.documents.${i}`, message: `no such file ${file}` });
  }
  return { spec, source, baseDir, system, documents };
}

/**
 * Loads every `*.yaml`, `*.yml` and `*.json` spec in `dir` (not recursive), all or nothing:
 * one bad file, or two specs with the same name, and nothing is returned.
 * @throws SpecInvalidError listing every problem of every file (file:line:col and path).
 * @throws AbortedError when `signal` fires first.
 */
export async function loadAgentSpecs(
  dir: string,
  options: LoadAgentSpecsOptions = {},
): Promise<LoadedAgentSpec[]> {
  const { signal } = options;
  checkSignal(signal);
  const root = resolve(dir);
  let entries: string[];
  try {
    entries = (await readdir(root, { withFileTypes: true }))
      .filter((e) => e.isFile() && SPEC_FILE.test(e.name))
      .map((e) => e.name)
      .sort();
  } catch (error) {
    throw new SpecInvalidError([
      { source: root, path: '(root)', message: `cannot read the agents folder: ${(error as Error).message}` },
    ]);
  }
  const problems: SpecProblem[] = [];
  const loaded: LoadedAgentSpec[] = [];
  const byName = new Map<string, string>();
  for (const entry of entries) {
    checkSignal(signal);
    const file = join(root, entry);
    let spec: AgentSpecDocument;
    try {
      spec = parseAgentSpec(await readFile(file, 'utf8'), { source: file });
    } catch (error) {
      if (error instanceof SpecInvalidError) problems.push(...error.problems);
      else problems.push({ source: file, path: '(root)', message: (error as Error).message });
      continue;
    }
    const first = byName.get(spec.name);
    if (first !== undefined) {
      problems.push({
        source: file,
        path: 'name',
        message: `duplicate name "${spec.name}" (also in ${first})`,
      });
      continue;
    }
    byName.set(spec.name, file);
    loaded.push(await resolveSpecFiles(spec, file, dirname(file), problems));
  }
  checkSignal(signal);
  if (problems.length > 0) throw new SpecInvalidError(problems);
  return loaded;
}

/** What `validateAgentsFolder` found: the agents that would load, or every problem. */
export interface AgentsFolderReport {
  dir: string;
  ok: boolean;
  agents: Array<{ name: string; source: string; cognition: string }>;
  problems: SpecProblem[];
}

/**
 * Checks a folder of specs without starting anything (`agentfleet validate ./agents`).
 * Never throws for bad specs: they are in `problems`. @throws AbortedError on `signal`.
 */
export async function validateAgentsFolder(
  dir: string,
  options: LoadAgentSpecsOptions = {},
): Promise<AgentsFolderReport> {
  try {
    const loaded = await loadAgentSpecs(dir, options);
    return {
      dir: resolve(dir),
      ok: true,
      agents: loaded.map((l) => ({ name: l.spec.name, source: l.source, cognition: l.spec.cognition.type })),
      problems: [],
    };
  } catch (error) {
    if (!(error instanceof SpecInvalidError)) throw error;
    return { dir: resolve(dir), ok: false, agents: [], problems: [...error.problems] };
  }
}

/** The report as lines for a terminal: one per agent, or one per problem. */
export function formatAgentsFolderReport(report: AgentsFolderReport): string {
  if (report.ok) {
    const lines = report.agents.map((a) => `  ${a.name} (${a.cognition}) ${a.source}`);
    return [`${report.dir}: ${report.agents.length} agent spec(s) valid`, ...lines].join('\n');
  }
  return [
    `${report.dir}: ${report.problems.length} problem(s), nothing loaded`,
    ...report.problems.map((p) => `  ${formatProblem(p)}`),
  ].join('\n');
}
