/** The label value that stands for every value past a `LabelCap`'s limit. */
export const OTHER_LABEL = 'other';

/** Longest label value kept; longer ones are cut (a model name or tool name never needs more). */
const MAX_VALUE_LENGTH = 128;

/**
 * Keeps one label's cardinality bounded: the first `limit` distinct values pass through, every
 * later one becomes `other`. Values come from code and config (provider, model, tool, agent
 * definition), so a runaway set means a bug or an abusive caller, not a need for more series.
 */
export class LabelCap {
  readonly limit: number;
  readonly #seen = new Set<string>();

  constructor(limit: number) {
    this.limit = limit;
  }

  /** The value to record for `raw`: itself (trimmed to 128 chars), `unknown` when empty, or `other`. */
  value(raw: string): string {
    const v =
      raw.length === 0 ? 'unknown' : raw.length > MAX_VALUE_LENGTH ? raw.slice(0, MAX_VALUE_LENGTH) : raw;
    if (this.#seen.has(v)) return v;
    if (this.#seen.size >= this.limit) return OTHER_LABEL;
    this.#seen.add(v);
    return v;
  }

  /** Distinct values admitted so far. */
  get size(): number {
    return this.#seen.size;
  }
}
