import { z } from 'zod';
import { parseOptions } from '../errors/index.ts';
import { CrdtError } from './errors.ts';
import { assertNodeId, nodeIdSchema } from './node-id.ts';

/** Largest logical counter: 2^32 − 1 events inside one millisecond of wall time. */
export const MAX_HLC_COUNTER = 0xffff_ffff;

/** A hybrid logical clock timestamp: wall time in ms since the epoch, a logical counter, the node that made it. */
export interface HlcTimestamp {
  readonly wall: number;
  readonly counter: number;
  readonly node: string;
}

/** The zod schema of a timestamp inside states and deltas. */
export const hlcTimestampSchema = z.strictObject({
  wall: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  counter: z.number().int().nonnegative().max(MAX_HLC_COUNTER),
  node: nodeIdSchema,
});

/** Total order of timestamps: wall time, then counter, then node id (code-unit order). Negative when `a` is earlier. */
export function compareHlc(a: HlcTimestamp, b: HlcTimestamp): number {
  if (a.wall !== b.wall) return a.wall < b.wall ? -1 : 1;
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  return a.node === b.node ? 0 : a.node < b.node ? -1 : 1;
}

const optionsSchema = z.strictObject({
  /** This replica's node id (1–64 topic-token characters). */
  node: z.string(),
  /** How far ahead of local wall time a remote timestamp may be, in ms; further is `CRDT_CLOCK_SKEW`. Default 60,000. */
  maxDriftMs: z.number().int().positive().default(60_000),
  /** The wall clock in ms since the epoch; tests inject one. Default `Date.now`. */
  wallClock: z.custom<() => number>((v) => typeof v === 'function').default(() => Date.now),
});

/** Options of a `HybridClock`. */
export type HybridClockOptions = z.input<typeof optionsSchema>;

/**
 * A hybrid logical clock (Kulkarni et al., 2014): timestamps that follow wall time, never go
 * backwards, and order every event after the events it has seen. `receive` refuses a remote
 * timestamp more than `maxDriftMs` ahead of local wall time, so one skewed node cannot drag
 * every clock into the future.
 */
export class HybridClock {
  /** This replica's node id. */
  readonly node: string;
  /** The drift bound in ms. */
  readonly maxDriftMs: number;
  readonly #wallClock: () => number;
  #wall = 0;
  #counter = 0;

  /** Throws `INVALID_OPTIONS` for bad options and `CRDT_NODE_ID_INVALID` for a bad node id. */
  constructor(options: HybridClockOptions) {
    const parsed = parseOptions('HybridClock', optionsSchema, options);
    this.node = assertNodeId(parsed.node);
    this.maxDriftMs = parsed.maxDriftMs;
    this.#wallClock = parsed.wallClock;
  }

  /** A new timestamp for a local event, later than every timestamp this clock has made or received. */
  now(): HlcTimestamp {
    const physical = this.#physical();
    if (physical > this.#wall) {
      this.#wall = physical;
      this.#counter = 0;
    } else {
      this.#counter = this.#bump(this.#counter);
    }
    return { wall: this.#wall, counter: this.#counter, node: this.node };
  }

  /**
   * Advances the clock past a remote timestamp and returns the timestamp of the receive event.
   * Throws `CRDT_CLOCK_SKEW` (the clock unchanged) when `remote.wall` is more than `maxDriftMs`
   * ahead of local wall time.
   */
  receive(remote: HlcTimestamp): HlcTimestamp {
    const physical = this.#physical();
    this.check(remote, physical);
    const wall = Math.max(this.#wall, remote.wall, physical);
    if (wall === this.#wall && wall === remote.wall) {
      this.#counter = this.#bump(Math.max(this.#counter, remote.counter));
    } else if (wall === this.#wall) {
      this.#counter = this.#bump(this.#counter);
    } else if (wall === remote.wall) {
      this.#counter = this.#bump(remote.counter);
    } else {
      this.#counter = 0;
    }
    this.#wall = wall;
    return { wall: this.#wall, counter: this.#counter, node: this.node };
  }

  /** Throws `CRDT_CLOCK_SKEW` if `remote` is too far ahead, without touching the clock. */
  check(remote: HlcTimestamp, physical = this.#physical()): void {
    if (remote.wall - physical > this.maxDriftMs) {
      throw new CrdtError(
        'CRDT_CLOCK_SKEW',
        `A timestamp from node "${remote.node}" is ${remote.wall - physical} ms ahead of this node's clock (at most ${this.maxDriftMs} ms allowed).`,
        { details: { node: remote.node, aheadMs: remote.wall - physical, maxDriftMs: this.maxDriftMs } },
      );
    }
  }

  /** The last timestamp made or received (wall 0 before the first). */
  peek(): HlcTimestamp {
    return { wall: this.#wall, counter: this.#counter, node: this.node };
  }

  #physical(): number {
    return Math.floor(this.#wallClock());
  }

  #bump(counter: number): number {
    if (counter >= MAX_HLC_COUNTER) {
      throw new CrdtError(
        'CRDT_CLOCK_SKEW',
        `The logical counter of node "${this.node}" overflowed within one millisecond.`,
        {
          details: { node: this.node },
        },
      );
    }
    return counter + 1;
  }
}
