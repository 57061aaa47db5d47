import type { z } from 'zod';
import type { CrdtKinds } from './crdt-map.ts';
import { CrdtMap } from './crdt-map.ts';
import { GCounter } from './g-counter.ts';
import type { HybridClock } from './hybrid-clock.ts';
import { LWWRegister } from './lww-register.ts';
import { ORSet } from './or-set.ts';
import { PNCounter } from './pn-counter.ts';

/** The CRDTs a replicator shares by name: the four types and a map of them. */
export interface SharedKinds extends CrdtKinds {
  'crdt-map': CrdtMap;
}

/** A type tag of a shared CRDT. */
export type SharedKind = keyof SharedKinds;

/** What `SharedCrdt.value()` reads, by kind. */
export interface SharedValues {
  'g-counter': number;
  'pn-counter': number;
  'lww-register': unknown;
  'or-set': unknown[];
  'crdt-map': Record<string, unknown>;
}

/** Options of one shared CRDT. */
export interface SharedCrdtOptions {
  /** Validates register values and set elements, local and remote (`lww-register`, `or-set`). Default: any JSON. */
  value?: z.ZodType<unknown>;
}

/** What a shared CRDT needs from its replicator. */
export interface SharedCrdtHost {
  /** Publishes a local change's delta (JSON); throws when the replicator is closed or in another tenant. */
  publishLocal(name: string, delta: unknown): void;
  /** Throws when a local change may not be made now (closed, another tenant's context). */
  checkLocal(): void;
}

/**
 * One named CRDT replicated by a `CrdtReplicator`: read it (`value()`, `crdt`) and change it
 * with `update`, which applies the change here and publishes its delta to every replica.
 */
export class SharedCrdt<K extends SharedKind = SharedKind> {
  readonly name: string;
  readonly kind: K;
  /** The merged CRDT: read it freely; change it only through `update`, so the change is replicated. */
  readonly crdt: SharedKinds[K];
  readonly #host: SharedCrdtHost;
  readonly #schema: z.ZodType<unknown> | undefined;

  /** @internal made by `CrdtReplicator.crdt`. */
  constructor(
    host: SharedCrdtHost,
    name: string,
    kind: K,
    clock: HybridClock,
    options: SharedCrdtOptions = {},
  ) {
    this.#host = host;
    this.name = name;
    this.kind = kind;
    this.#schema = options.value;
    this.crdt = empty(kind, clock, options.value) as SharedKinds[K];
  }

  /**
   * Applies `op` here and publishes the delta it returns:
   * `visits.update((c) => c.increment(2))`, `tags.update((s) => s.add('x'))`.
   * Returns the delta. Throws what `op` throws (nothing is published then),
   * `CRDT_REPLICATOR_CLOSED`, or `TENANT_MISMATCH` from another tenant's context.
   */
  update(op: (crdt: SharedKinds[K]) => SharedKinds[K]): SharedKinds[K] {
    this.#host.checkLocal();
    const delta = op(this.crdt);
    this.#host.publishLocal(this.name, delta.state());
    return delta;
  }

  /** The merged value: counters as numbers, a register's value, a set's elements, a map's field values. */
  value(): SharedValues[K] {
    const crdt = this.crdt as SharedKinds[SharedKind];
    return (crdt instanceof ORSet ? crdt.values() : crdt.value()) as SharedValues[K];
  }

  /**
   * @internal Validates a delta (untrusted JSON) as this kind and merges it. Throws
   * `CRDT_INVALID` (malformed, another kind) or `CRDT_CLOCK_SKEW`, with nothing changed.
   */
  mergeJson(json: unknown): void {
    const crdt = this.crdt as SharedKinds[SharedKind];
    if (crdt instanceof GCounter) crdt.merge(GCounter.from(json));
    else if (crdt instanceof PNCounter) crdt.merge(PNCounter.from(json));
    else if (crdt instanceof LWWRegister)
      crdt.merge(LWWRegister.from(json, this.#schema ? { value: this.#schema } : {}));
    else if (crdt instanceof ORSet)
      crdt.merge(ORSet.from(json, undefined, this.#schema ? { value: this.#schema } : {}));
    else crdt.merge(CrdtMap.from(json));
  }
}

function empty(kind: SharedKind, clock: HybridClock, value: z.ZodType<unknown> | undefined): unknown {
  switch (kind) {
    case 'g-counter':
      return new GCounter(clock.node);
    case 'pn-counter':
      return new PNCounter(clock.node);
    case 'lww-register':
      return new LWWRegister(value ? { clock, value } : { clock });
    case 'or-set':
      return new ORSet(clock.node, value ? { value } : {});
    default:
      return new CrdtMap(clock);
  }
}
