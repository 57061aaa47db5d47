import { z } from 'zod';
import { formatIssues } from '../errors/index.ts';
import { canonicalJson } from './canonical-json.ts';
import { invalidCrdt, invalidOp, parseCrdt } from './errors.ts';
import { compareHlc, type HlcTimestamp, type HybridClock, hlcTimestampSchema } from './hybrid-clock.ts';

/** The JSON of an LWW-Register state or delta; `ts` and `value` are absent until the first write. */
export interface LWWRegisterState<T> {
  type: 'lww-register';
  ts?: HlcTimestamp;
  value?: T;
}

/** Options of `LWWRegister.from` (and the constructor). */
export interface LWWRegisterOptions<T> {
  /** The replica's clock: needed for `set`, and `merge` advances it past remote writes (refusing skewed ones). */
  clock?: HybridClock;
  /** Validates values read from JSON and given to `set`. Default: any JSON value. */
  value?: z.ZodType<T>;
}

/** Built once: constructing a zod schema costs far more than running it. */
const ANY_JSON = z.json() as unknown as z.ZodType<never>;

const envelope = z.strictObject({
  type: z.literal('lww-register'),
  ts: hlcTimestampSchema.optional(),
  value: z.unknown().optional(),
});

/**
 * A last-writer-wins register: the write with the latest hybrid-logical-clock timestamp wins;
 * equal wall time and counter are ordered by node id (and, for a forged duplicate timestamp,
 * by the value's canonical JSON, so merge stays deterministic). `set` returns the delta, which
 * is the whole (small) register.
 */
export class LWWRegister<T = unknown> {
  static readonly type = 'lww-register';
  readonly #clock: HybridClock | undefined;
  readonly #schema: z.ZodType<T>;
  #ts: HlcTimestamp | undefined;
  #value: T | undefined;

  /** An empty register; `ts` and `value` give it a starting write (trusted as given: `from` validates JSON). */
  constructor(options: LWWRegisterOptions<T> = {}, ts?: HlcTimestamp, value?: T) {
    this.#clock = options.clock;
    this.#schema = options.value ?? ANY_JSON;
    this.#ts = ts;
    this.#value = value;
  }

  /** Parses a state or delta (untrusted JSON); throws `CRDT_INVALID` when malformed, of another type, or with a bad value. */
  static from<T = unknown>(json: unknown, options: LWWRegisterOptions<T> = {}): LWWRegister<T> {
    const parsed = parseCrdt(LWWRegister.type, envelope, json);
    if (parsed.ts === undefined) {
      if (parsed.value !== undefined)
        throw invalidCrdt(LWWRegister.type, ['value: a value without a timestamp']);
      return new LWWRegister(options);
    }
    const checked = (options.value ?? ANY_JSON).safeParse(parsed.value);
    if (!checked.success)
      throw invalidCrdt(
        LWWRegister.type,
        formatIssues(checked.error).map((p) => `value.${p}`),
      );
    return new LWWRegister(options, parsed.ts, checked.data as T);
  }

  /** Writes `value` at a fresh timestamp; returns the delta. Throws `CRDT_OP_INVALID` without a clock or for a value the schema refuses. */
  set(value: T): LWWRegister<T> {
    if (this.#clock === undefined)
      throw invalidOp(LWWRegister.type, 'this replica has no clock, so it cannot write');
    const checked = this.#schema.safeParse(value);
    if (!checked.success)
      throw invalidOp(LWWRegister.type, `the value is not valid: ${checked.error.issues[0]?.message}`);
    this.#ts = this.#clock.now();
    this.#value = checked.data;
    return new LWWRegister({ value: this.#schema }, this.#ts, this.#value);
  }

  /**
   * Joins a delta or state (an `LWWRegister` or its JSON, which is validated). With a clock,
   * advances it past the remote write first and throws `CRDT_CLOCK_SKEW` (nothing changed) if
   * that write is too far in the future.
   */
  merge(other: LWWRegister<T> | unknown): this {
    const theirs =
      other instanceof LWWRegister
        ? (other as LWWRegister<T>)
        : LWWRegister.from(other, { value: this.#schema });
    const ts = theirs.#ts;
    if (ts === undefined) return this;
    this.#clock?.receive(ts);
    if (this.#wins(ts, theirs.#value)) {
      this.#ts = ts;
      this.#value = theirs.#value;
    }
    return this;
  }

  /** Throws `CRDT_CLOCK_SKEW` if merging `other` would; used to check a whole map before changing any of it. */
  checkClock(other: LWWRegister<T>): void {
    if (other.#ts !== undefined) this.#clock?.check(other.#ts);
  }

  /** The current value, or undefined before the first write. */
  value(): T | undefined {
    return this.#value;
  }

  /** The timestamp of the current value, or undefined before the first write. */
  timestamp(): HlcTimestamp | undefined {
    return this.#ts;
  }

  /** The JSON state (also the wire form of a delta). */
  state(): LWWRegisterState<T> {
    return this.#ts === undefined
      ? { type: LWWRegister.type }
      : { type: LWWRegister.type, ts: this.#ts, value: this.#value as T };
  }

  toJSON(): LWWRegisterState<T> {
    return this.state();
  }

  #wins(ts: HlcTimestamp, value: T | undefined): boolean {
    if (this.#ts === undefined) return true;
    const order = compareHlc(ts, this.#ts);
    if (order !== 0) return order > 0;
    return canonicalJson(value) > canonicalJson(this.#value);
  }
}
