import { z } from 'zod';
import { invalidOp } from './errors.ts';
import { countSchema, nodeIdSchema } from './node-id.ts';

/** Most node entries a counter state may carry: a bound on what a peer can make us hold. */
export const MAX_COUNTER_NODES = 1024;

/** A counter's per-node totals in JSON: `{ [node]: total }`. */
export const countsSchema = z
  .record(nodeIdSchema, countSchema)
  .refine((c) => Object.keys(c).length <= MAX_COUNTER_NODES, `more than ${MAX_COUNTER_NODES} nodes`);

/** Per-node totals; merge takes the maximum of each entry (the G-Counter join). */
export class Counts {
  readonly map = new Map<string, number>();

  static of(record: Readonly<Record<string, number>>): Counts {
    const counts = new Counts();
    for (const node of Object.keys(record)) counts.map.set(node, record[node] as number);
    return counts;
  }

  static single(node: string, total: number): Counts {
    const counts = new Counts();
    counts.map.set(node, total);
    return counts;
  }

  /** Adds `amount` (a positive safe integer) to `node`'s entry and returns the new entry. */
  add(type: string, node: string, amount: number): number {
    if (!Number.isSafeInteger(amount) || amount <= 0) {
      throw invalidOp(type, `the amount must be a positive safe integer, not ${amount}`);
    }
    const next = (this.map.get(node) ?? 0) + amount;
    if (!Number.isSafeInteger(next)) throw invalidOp(type, `node "${node}"'s total would overflow`);
    this.map.set(node, next);
    return next;
  }

  join(other: Counts): void {
    for (const [node, value] of other.map) {
      const mine = this.map.get(node);
      if (mine === undefined || value > mine) this.map.set(node, value);
    }
  }

  sum(): number {
    let total = 0;
    for (const value of this.map.values()) total += value;
    return total;
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.map);
  }
}
