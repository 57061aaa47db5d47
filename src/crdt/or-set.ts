import { z } from 'zod';
import { canonicalJson } from './canonical-json.ts';
import {
  CausalContext,
  type CausalContextJson,
  contextSchema,
  type Dot,
  dotSchema,
} from './causal-context.ts';
import { invalidCrdt, invalidOp, parseCrdt } from './errors.ts';
import { assertNodeId, ownerOf } from './node-id.ts';

/** The JSON of an OR-Set state or delta. */
export interface ORSetState<T> {
  type: 'or-set';
  entries: Array<{ value: T; dots: Array<[string, number]> }>;
  context: CausalContextJson;
}

/** Options of `ORSet.from` (and the constructor). */
export interface ORSetOptions<T> {
  /** Validates element values read from JSON and given to `add`. Default: any JSON value. */
  value?: z.ZodType<T>;
}

interface Entry<T> {
  value: T;
  dots: Dot[];
}

const envelope = z.strictObject({
  type: z.literal('or-set'),
  entries: z.array(z.strictObject({ value: z.unknown(), dots: z.array(dotSchema).min(1) })),
  context: contextSchema.default({ vv: {}, dots: [] }),
});

/** Built once: constructing a zod schema costs far more than running it. */
const ANY_JSON = z.json() as unknown as z.ZodType<never>;

/**
 * An add-wins observed-remove set, as a delta-state CRDT with causal context (Almeida,
 * Shoker, Baquero, "Delta state replicated data types", 2018). Each add tags the element with
 * a fresh dot `[node, counter]`; a remove drops the dots it has observed. The state is the
 * live dots per element plus the context of every dot seen, so a dot that is in the context
 * but not in the entries was removed: no per-element tombstone is kept, and the context stays
 * one counter per node unless deltas were lost (then a few gap dots, until a full state fills
 * them). A remove concurrent with an add of the same element cannot see the add's new dot, so
 * the add wins. Elements are identified by their canonical JSON.
 */
export class ORSet<T = unknown> {
  static readonly type = 'or-set';
  /** This replica's node id; undefined for a replica parsed without one (it can merge, not change). */
  readonly node: string | undefined;
  readonly #schema: z.ZodType<T>;
  readonly #entries = new Map<string, Entry<T>>();
  /** Which element holds each live dot: node → counter → element key. */
  readonly #index = new Map<string, Map<number, string>>();
  #context = new CausalContext();
  #dots = 0;

  /** Throws `CRDT_NODE_ID_INVALID` for a bad node id. */
  constructor(node: string | undefined, options: ORSetOptions<T> = {}) {
    this.node = node === undefined ? undefined : assertNodeId(node);
    this.#schema = options.value ?? ANY_JSON;
  }

  /**
   * Parses a state or delta (untrusted JSON); throws `CRDT_INVALID` when malformed, of another
   * type, with a bad value, a repeated element or dot, or a live dot outside its context.
   */
  static from<T = unknown>(json: unknown, node?: string, options: ORSetOptions<T> = {}): ORSet<T> {
    const parsed = parseCrdt(ORSet.type, envelope, json);
    const set = new ORSet<T>(node, options);
    set.#context = CausalContext.fromJson(parsed.context);
    for (let i = 0; i < parsed.entries.length; i++) {
      const raw = parsed.entries[i]!;
      const checked = set.#schema.safeParse(raw.value);
      if (!checked.success)
        throw invalidCrdt(ORSet.type, [`entries.${i}.value: ${checked.error.issues[0]?.message}`]);
      const key = canonicalJson(checked.data);
      if (set.#entries.has(key)) throw invalidCrdt(ORSet.type, [`entries.${i}: the element appears twice`]);
      for (const [n, c] of raw.dots) {
        if (set.#holder(n, c) !== undefined)
          throw invalidCrdt(ORSet.type, [`entries.${i}: dot [${n}, ${c}] appears twice`]);
        if (!set.#context.has(n, c))
          throw invalidCrdt(ORSet.type, [`entries.${i}: dot [${n}, ${c}] is not in the context`]);
        set.#put(key, checked.data, [n, c]);
      }
    }
    return set;
  }

  /** Adds `value` with a fresh dot (replacing this replica's older dots of it); returns the delta. */
  add(value: T): ORSet<T> {
    const node = ownerOf(ORSet.type, this.node);
    const checked = this.#schema.safeParse(value);
    if (!checked.success)
      throw invalidOp(ORSet.type, `the value is not valid: ${checked.error.issues[0]?.message}`);
    const key = canonicalJson(checked.data);
    const dot: Dot = [node, this.#context.max(node) + 1];
    const delta = new ORSet<T>(undefined, { value: this.#schema });
    for (const old of this.#entries.get(key)?.dots ?? []) {
      delta.#context.add(old[0], old[1]);
      this.#drop(key, old);
    }
    delta.#context.add(dot[0], dot[1]);
    delta.#put(key, checked.data, dot);
    this.#context.add(dot[0], dot[1]);
    this.#put(key, checked.data, dot);
    return delta;
  }

  /** Removes `value` as observed here (a concurrent add elsewhere survives); returns the delta (empty if absent). */
  remove(value: T): ORSet<T> {
    ownerOf(ORSet.type, this.node);
    const key = canonicalJson(value);
    const delta = new ORSet<T>(undefined, { value: this.#schema });
    for (const dot of this.#entries.get(key)?.dots ?? []) {
      delta.#context.add(dot[0], dot[1]);
      this.#drop(key, dot);
    }
    return delta;
  }

  /** Joins a delta or state (an `ORSet` or its JSON, which is validated). */
  merge(other: ORSet<T> | unknown): this {
    const theirs =
      other instanceof ORSet ? (other as ORSet<T>) : ORSet.from(other, undefined, { value: this.#schema });
    // Drop live dots the other side has seen and no longer holds: visit whichever is smaller.
    if (theirs.#context.size() <= this.#dots) {
      theirs.#context.forEach((n, c) => {
        const key = this.#holder(n, c);
        if (key !== undefined && theirs.#holder(n, c) === undefined) this.#drop(key, [n, c]);
      });
    } else {
      for (const [key, entry] of [...this.#entries]) {
        for (const dot of [...entry.dots]) {
          if (theirs.#context.has(dot[0], dot[1]) && theirs.#holder(dot[0], dot[1]) === undefined)
            this.#drop(key, dot);
        }
      }
    }
    // Take their live dots this side has not seen (a seen dot missing here was removed here).
    for (const [key, entry] of theirs.#entries) {
      for (const dot of entry.dots) {
        if (!this.#context.has(dot[0], dot[1])) this.#put(key, entry.value, dot);
      }
    }
    this.#context.join(theirs.#context);
    return this;
  }

  /** True when `value` is in the set. */
  has(value: T): boolean {
    return this.#entries.has(canonicalJson(value));
  }

  /** The elements, in no particular order. */
  values(): T[] {
    return [...this.#entries.values()].map((e) => e.value);
  }

  /** How many elements the set holds. */
  get size(): number {
    return this.#entries.size;
  }

  /** The JSON state (also the wire form of a delta). */
  state(): ORSetState<T> {
    return {
      type: ORSet.type,
      entries: [...this.#entries.values()].map((e) => ({
        value: e.value,
        dots: e.dots.map((d) => [d[0], d[1]]),
      })),
      context: this.#context.toJSON(),
    };
  }

  toJSON(): ORSetState<T> {
    return this.state();
  }

  #holder(node: string, counter: number): string | undefined {
    return this.#index.get(node)?.get(counter);
  }

  #put(key: string, value: T, dot: Dot): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) this.#entries.set(key, { value, dots: [dot] });
    else entry.dots.push(dot);
    let byCounter = this.#index.get(dot[0]);
    if (byCounter === undefined) {
      byCounter = new Map();
      this.#index.set(dot[0], byCounter);
    }
    byCounter.set(dot[1], key);
    this.#dots++;
  }

  #drop(key: string, dot: Dot): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    const at = entry.dots.findIndex((d) => d[0] === dot[0] && d[1] === dot[1]);
    if (at < 0) return;
    entry.dots.splice(at, 1);
    if (entry.dots.length === 0) this.#entries.delete(key);
    const byCounter = this.#index.get(dot[0]);
    byCounter?.delete(dot[1]);
    if (byCounter?.size === 0) this.#index.delete(dot[0]);
    this.#dots--;
  }
}
