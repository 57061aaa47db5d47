import { z } from 'zod';
import { Counts, countsSchema } from './counts.ts';
import { parseCrdt } from './errors.ts';
import { assertNodeId, ownerOf } from './node-id.ts';

/** The JSON of a G-Counter state or delta. */
export interface GCounterState {
  type: 'g-counter';
  counts: Record<string, number>;
}

const schema = z.strictObject({ type: z.literal('g-counter'), counts: countsSchema });

/**
 * A grow-only counter: each node counts its own increments; the value is the sum, merge takes
 * each node's maximum. `increment` returns a delta holding only this node's entry.
 */
export class GCounter {
  static readonly type = 'g-counter';
  /** This replica's node id; undefined for a replica parsed without one (it can merge, not count). */
  readonly node: string | undefined;
  readonly #counts: Counts;

  /** Throws `CRDT_NODE_ID_INVALID` for a bad node id. */
  constructor(node: string | undefined, counts = new Counts()) {
    this.node = node === undefined ? undefined : assertNodeId(node);
    this.#counts = counts;
  }

  /**
   * Parses a state or delta (untrusted JSON), throwing `CRDT_INVALID` when it is malformed or
   * of another type. `node` is the replica that will own it (omit it for a delta to merge).
   */
  static from(json: unknown, node?: string): GCounter {
    return new GCounter(node, Counts.of(parseCrdt(GCounter.type, schema, json).counts));
  }

  /** Adds `amount` (a positive safe integer, default 1); returns the delta. Throws `CRDT_OP_INVALID`. */
  increment(amount = 1): GCounter {
    const node = ownerOf(GCounter.type, this.node);
    const total = this.#counts.add(GCounter.type, node, amount);
    return new GCounter(node, Counts.single(node, total));
  }

  /** Joins a delta or state (a `GCounter` or its JSON, which is validated). Idempotent, commutative, associative. */
  merge(other: GCounter | unknown): this {
    const theirs = other instanceof GCounter ? other : GCounter.from(other);
    this.#counts.join(theirs.#counts);
    return this;
  }

  /** The counter's value: the sum of every node's total. */
  value(): number {
    return this.#counts.sum();
  }

  /** The JSON state (also the wire form of a delta). */
  state(): GCounterState {
    return { type: GCounter.type, counts: this.#counts.toJSON() };
  }

  toJSON(): GCounterState {
    return this.state();
  }
}
