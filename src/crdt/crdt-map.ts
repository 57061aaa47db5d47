import { z } from 'zod';
import { CrdtError, invalidCrdt, invalidOp, parseCrdt } from './errors.ts';
import { GCounter, type GCounterState } from './g-counter.ts';
import type { HybridClock } from './hybrid-clock.ts';
import { LWWRegister, type LWWRegisterState } from './lww-register.ts';
import { ORSet, type ORSetState } from './or-set.ts';
import { PNCounter, type PNCounterState } from './pn-counter.ts';

/** The CRDTs a `CrdtMap` holds, by type tag. */
export interface CrdtKinds {
  'g-counter': GCounter;
  'pn-counter': PNCounter;
  'lww-register': LWWRegister<unknown>;
  'or-set': ORSet<unknown>;
}

/** A type tag of a CRDT a map can hold. */
export type CrdtKind = keyof CrdtKinds;

/** Any CRDT a map can hold. */
export type Crdt = CrdtKinds[CrdtKind];

/** The JSON of any CRDT a map can hold. */
export type CrdtState = GCounterState | PNCounterState | LWWRegisterState<unknown> | ORSetState<unknown>;

/** The JSON of a CRDT map state or delta. */
export interface CrdtMapState {
  type: 'crdt-map';
  entries: Record<string, CrdtState>;
}

/** Longest field name, in characters. */
export const MAX_FIELD_NAME_LENGTH = 128;

/** The zod schema of a field name (also the name of a replicated object). */
export const nameSchema = z
  .string()
  .min(1)
  .max(MAX_FIELD_NAME_LENGTH)
  .refine((name) => name !== '__proto__', 'not a field name');

const envelope = z.strictObject({
  type: z.literal('crdt-map'),
  entries: z.record(nameSchema, z.looseObject({ type: z.string() })),
});

/**
 * A map of named CRDTs (counters, registers, sets), merged field by field. A field's kind is
 * fixed by its first write; a delta giving it another kind is `CRDT_INVALID`. Fields are never
 * removed (an observed-remove map is not built); clear a field's content with its own operations.
 */
export class CrdtMap {
  static readonly type = 'crdt-map';
  readonly #clock: HybridClock | undefined;
  readonly #fields = new Map<string, Crdt>();

  /** `clock` gives the node id and the LWW timestamps; without one the map can merge but not change. */
  constructor(clock?: HybridClock) {
    this.#clock = clock;
  }

  /** Parses a state or delta (untrusted JSON); throws `CRDT_INVALID` naming the bad field. */
  static from(json: unknown, clock?: HybridClock): CrdtMap {
    const parsed = parseCrdt(CrdtMap.type, envelope, json);
    const map = new CrdtMap(clock);
    for (const name of Object.keys(parsed.entries)) {
      map.#fields.set(name, map.#parseField(name, parsed.entries[name]));
    }
    return map;
  }

  /**
   * Applies `op` to field `name` (created empty, of `kind`, if absent) and returns the map delta
   * wrapping the field's delta: `map.update('visits', 'g-counter', (c) => c.increment())`.
   * Throws `CRDT_OP_INVALID` if the field holds another kind or the map has no clock.
   */
  update<K extends CrdtKind>(name: string, kind: K, op: (crdt: CrdtKinds[K]) => CrdtKinds[K]): CrdtMap {
    if (this.#clock === undefined)
      throw invalidOp(CrdtMap.type, 'this map has no clock, so it cannot change');
    if (!nameSchema.safeParse(name).success)
      throw invalidOp(CrdtMap.type, `"${name.slice(0, 40)}" is not a field name`);
    let field = this.#fields.get(name);
    if (field === undefined) {
      field = this.#empty(kind);
      this.#fields.set(name, field);
    } else if (kindOf(field) !== kind) {
      throw invalidOp(CrdtMap.type, `field "${name}" is a ${kindOf(field)}, not a ${kind}`);
    }
    const delta = new CrdtMap();
    delta.#fields.set(name, op(field as CrdtKinds[K]));
    return delta;
  }

  /** Joins a delta or state (a `CrdtMap` or its JSON). Kinds and clocks are checked before any field changes. */
  merge(other: CrdtMap | unknown): this {
    const theirs = other instanceof CrdtMap ? other : CrdtMap.from(other);
    for (const [name, field] of theirs.#fields) {
      const mine = this.#fields.get(name);
      if (mine !== undefined && kindOf(mine) !== kindOf(field)) {
        throw invalidCrdt(CrdtMap.type, [
          `entries.${name}: a ${kindOf(field)} where this map holds a ${kindOf(mine)}`,
        ]);
      }
      if (mine instanceof LWWRegister) mine.checkClock(field as LWWRegister<unknown>);
      else if (field instanceof LWWRegister && this.#clock !== undefined)
        new LWWRegister({ clock: this.#clock }).checkClock(field);
    }
    for (const [name, field] of theirs.#fields) {
      let mine = this.#fields.get(name);
      if (mine === undefined) {
        mine = this.#empty(kindOf(field));
        this.#fields.set(name, mine);
      }
      (mine as { merge(other: unknown): unknown }).merge(field);
    }
    return this;
  }

  /** The field `name`, or undefined. Change it through `update` so the change has a delta. */
  get(name: string): Crdt | undefined {
    return this.#fields.get(name);
  }

  /** The field names. */
  keys(): string[] {
    return [...this.#fields.keys()];
  }

  /** Every field's value: counters as numbers, registers as their value, sets as arrays. */
  value(): Record<string, unknown> {
    return Object.fromEntries(
      [...this.#fields].map(([name, field]) => [
        name,
        field instanceof ORSet ? field.values() : field.value(),
      ]),
    );
  }

  /** The JSON state (also the wire form of a delta). */
  state(): CrdtMapState {
    return {
      type: CrdtMap.type,
      entries: Object.fromEntries(
        [...this.#fields].map(([name, field]) => [name, field.state() as CrdtState]),
      ),
    };
  }

  toJSON(): CrdtMapState {
    return this.state();
  }

  #empty(kind: CrdtKind): Crdt {
    const node = this.#clock?.node;
    switch (kind) {
      case 'g-counter':
        return new GCounter(node);
      case 'pn-counter':
        return new PNCounter(node);
      case 'lww-register':
        return new LWWRegister(this.#clock === undefined ? {} : { clock: this.#clock });
      case 'or-set':
        return new ORSet(node);
      default:
        throw invalidOp(CrdtMap.type, `"${String(kind)}" is not a CRDT kind`);
    }
  }

  #parseField(name: string, json: unknown): Crdt {
    try {
      const type = (json as { type: string }).type;
      const node = this.#clock?.node;
      if (type === GCounter.type) return GCounter.from(json, node);
      if (type === PNCounter.type) return PNCounter.from(json, node);
      if (type === LWWRegister.type)
        return LWWRegister.from(json, this.#clock === undefined ? {} : { clock: this.#clock });
      if (type === ORSet.type) return ORSet.from(json, node);
      throw invalidCrdt(CrdtMap.type, [`entries.${name}.type: "${type.slice(0, 40)}" is not a CRDT kind`]);
    } catch (error) {
      if (
        error instanceof CrdtError &&
        error.code === 'CRDT_INVALID' &&
        error.details?.type !== CrdtMap.type
      ) {
        const problems = (error.details?.problems as string[] | undefined) ?? [error.message];
        throw invalidCrdt(
          CrdtMap.type,
          problems.map((p) => `entries.${name}: ${p}`),
        );
      }
      throw error;
    }
  }
}

function kindOf(field: Crdt): CrdtKind {
  if (field instanceof GCounter) return 'g-counter';
  if (field instanceof PNCounter) return 'pn-counter';
  if (field instanceof LWWRegister) return 'lww-register';
  return 'or-set';
}
