import { AgentfleetError } from '../errors/index.ts';

/** One problem of a spec: what is wrong, at which path, and where in which file. */
export interface SpecProblem {
  /** The file (or other source label) the spec came from. */
  source: string;
  /** Dotted path of the bad value (`cognition.model`), or `(root)`. */
  path: string;
  message: string;
  /** 1-based line and column of the value in the source, when known. */
  line?: number;
  column?: number;
}

/** `file:line:col path: message`, the form editors and terminals link to. */
export function formatProblem(p: SpecProblem): string {
  const where = p.line === undefined ? p.source : `${p.source}:${p.line}:${p.column ?? 1}`;
  return `${where} ${p.path}: ${p.message}`;
}

/**
 * A spec (or a folder of specs) was refused: `details.problems` lists every problem with its
 * path and location, so one run fixes them all. Nothing of a refused folder is loaded.
 */
export class SpecInvalidError extends AgentfleetError {
  readonly problems: readonly SpecProblem[];

  constructor(problems: SpecProblem[]) {
    const shown = problems.slice(0, 20).map(formatProblem);
    const more = problems.length > 20 ? `; … ${problems.length - 20} more` : '';
    super('SPEC_INVALID', `Invalid agent spec: ${shown.join('; ')}${more}`, { details: { problems } });
    this.problems = problems;
  }
}

/**
 * An agent's model names a provider that is not configured on this node. Thrown when the agent
 * handles a message (not when its spec loads), naming the setting that would configure it.
 */
export class ModelNotConfiguredError extends AgentfleetError {
  constructor(model: string, provider: string, setting: string) {
    super('MODEL_NOT_CONFIGURED', `Model ${model}: provider ${provider} needs ${setting}.`, {
      details: { model, provider, setting },
    });
  }
}
