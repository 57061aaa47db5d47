import { z } from 'zod';
import { countSchema, nodeIdSchema } from './node-id.ts';

/** A dot: the `counter`-th event of `node`, the unique tag of one OR-Set add. */
export type Dot = readonly [node: string, counter: number];

const positive = countSchema.min(1);

/** The zod schema of a dot in JSON: `[node, counter]`, counter ≥ 1. */
export const dotSchema = z.tuple([nodeIdSchema, positive]);

/** The JSON of a causal context: a version vector and the dots seen beyond it. Both may be left out when empty. */
export const contextSchema = z.strictObject({
  vv: z.record(nodeIdSchema, countSchema).default({}),
  dots: z.array(dotSchema).default([]),
});

/** The JSON of a causal context. */
export interface CausalContextJson {
  vv?: Record<string, number>;
  dots?: Array<[string, number]>;
}

/**
 * The set of dots a replica has seen, kept compact: per node a version vector entry `n`
 * (every dot 1..n seen) plus a "cloud" of dots seen out of order beyond it. Adding the missing
 * dot folds the cloud back into the vector, so in the common case (deltas arriving in order,
 * or a full-state exchange after losses) the context is one number per node: this is what
 * keeps removals from leaving tombstones.
 */
export class CausalContext {
  readonly vv = new Map<string, number>();
  readonly cloud = new Map<string, Set<number>>();

  static fromJson(json: z.output<typeof contextSchema>): CausalContext {
    const ctx = new CausalContext();
    for (const node of Object.keys(json.vv)) {
      const n = json.vv[node] as number;
      if (n > 0) ctx.vv.set(node, n);
    }
    for (const [node, counter] of json.dots) ctx.add(node, counter);
    return ctx;
  }

  has(node: string, counter: number): boolean {
    return counter <= (this.vv.get(node) ?? 0) || this.cloud.get(node)?.has(counter) === true;
  }

  /** The highest counter of `node` seen (0 if none). */
  max(node: string): number {
    let top = this.vv.get(node) ?? 0;
    const extra = this.cloud.get(node);
    if (extra !== undefined) for (const c of extra) if (c > top) top = c;
    return top;
  }

  add(node: string, counter: number): void {
    const base = this.vv.get(node) ?? 0;
    if (counter <= base) return;
    if (counter === base + 1) {
      this.vv.set(node, counter);
      this.#fold(node);
      return;
    }
    let extra = this.cloud.get(node);
    if (extra === undefined) {
      extra = new Set();
      this.cloud.set(node, extra);
    }
    extra.add(counter);
  }

  join(other: CausalContext): void {
    for (const [node, n] of other.vv) {
      if (n > (this.vv.get(node) ?? 0)) {
        this.vv.set(node, n);
        this.#fold(node);
      }
    }
    for (const [node, extra] of other.cloud) for (const c of extra) this.add(node, c);
  }

  /** How many dots the context stands for: a bound on the work of visiting each. */
  size(): number {
    let total = 0;
    for (const n of this.vv.values()) total += n;
    for (const extra of this.cloud.values()) total += extra.size;
    return total;
  }

  /** Calls `visit` for every dot in the context. */
  forEach(visit: (node: string, counter: number) => void): void {
    for (const [node, n] of this.vv) for (let c = 1; c <= n; c++) visit(node, c);
    for (const [node, extra] of this.cloud) for (const c of extra) visit(node, c);
  }

  toJSON(): CausalContextJson {
    const out: CausalContextJson = {};
    if (this.vv.size > 0) out.vv = Object.fromEntries(this.vv);
    if (this.cloud.size > 0) {
      out.dots = [];
      for (const [node, extra] of this.cloud)
        for (const c of [...extra].sort((a, b) => a - b)) out.dots.push([node, c]);
    }
    return out;
  }

  /** Moves cloud dots that now continue the vector into it. */
  #fold(node: string): void {
    const extra = this.cloud.get(node);
    if (extra === undefined) return;
    let n = this.vv.get(node) ?? 0;
    for (const c of extra) if (c <= n) extra.delete(c);
    while (extra.delete(n + 1)) n++;
    this.vv.set(node, n);
    if (extra.size === 0) this.cloud.delete(node);
  }
}
