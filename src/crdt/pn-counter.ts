import { z } from 'zod';
import { Counts, countsSchema } from './counts.ts';
import { parseCrdt } from './errors.ts';
import { assertNodeId, ownerOf } from './node-id.ts';

/** The JSON of a PN-Counter state or delta; an empty side may be left out. */
export interface PNCounterState {
  type: 'pn-counter';
  p?: Record<string, number>;
  n?: Record<string, number>;
}

const schema = z.strictObject({
  type: z.literal('pn-counter'),
  p: countsSchema.default({}),
  n: countsSchema.default({}),
});

/**
 * A counter that goes up and down: two grow-only counters, increments (`p`) and decrements
 * (`n`); the value is their difference. A delta holds this node's entry on one side only.
 */
export class PNCounter {
  static readonly type = 'pn-counter';
  /** This replica's node id; undefined for a replica parsed without one (it can merge, not count). */
  readonly node: string | undefined;
  readonly #p: Counts;
  readonly #n: Counts;

  /** Throws `CRDT_NODE_ID_INVALID` for a bad node id. */
  constructor(node: string | undefined, p = new Counts(), n = new Counts()) {
    this.node = node === undefined ? undefined : assertNodeId(node);
    this.#p = p;
    this.#n = n;
  }

  /** Parses a state or delta (untrusted JSON); throws `CRDT_INVALID` when malformed or of another type. */
  static from(json: unknown, node?: string): PNCounter {
    const parsed = parseCrdt(PNCounter.type, schema, json);
    return new PNCounter(node, Counts.of(parsed.p), Counts.of(parsed.n));
  }

  /** Adds `amount` (a positive safe integer, default 1); returns the delta. Throws `CRDT_OP_INVALID`. */
  increment(amount = 1): PNCounter {
    const node = ownerOf(PNCounter.type, this.node);
    return new PNCounter(node, Counts.single(node, this.#p.add(PNCounter.type, node, amount)));
  }

  /** Subtracts `amount` (a positive safe integer, default 1); returns the delta. Throws `CRDT_OP_INVALID`. */
  decrement(amount = 1): PNCounter {
    const node = ownerOf(PNCounter.type, this.node);
    return new PNCounter(node, new Counts(), Counts.single(node, this.#n.add(PNCounter.type, node, amount)));
  }

  /** Joins a delta or state (a `PNCounter` or its JSON, which is validated). */
  merge(other: PNCounter | unknown): this {
    const theirs = other instanceof PNCounter ? other : PNCounter.from(other);
    this.#p.join(theirs.#p);
    this.#n.join(theirs.#n);
    return this;
  }

  /** Increments minus decrements, over every node. */
  value(): number {
    return this.#p.sum() - this.#n.sum();
  }

  /** The JSON state (also the wire form of a delta); empty sides are left out. */
  state(): PNCounterState {
    const out: PNCounterState = { type: PNCounter.type };
    if (this.#p.map.size > 0) out.p = this.#p.toJSON();
    if (this.#n.map.size > 0) out.n = this.#n.toJSON();
    return out;
  }

  toJSON(): PNCounterState {
    return this.state();
  }
}
