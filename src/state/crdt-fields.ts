// State fields declared as CRDTs (the state rules' `crdt` section): the field's value is the
// CRDT's JSON state, and a write merges into it instead of replacing it.
import { CrdtError, GCounter, type HybridClock, LWWRegister, ORSet, PNCounter } from '../crdt/index.ts';
import { StateInvalidError } from './errors.ts';

/** The CRDT kinds a state field may be declared as. */
export const STATE_CRDT_KINDS = ['g-counter', 'pn-counter', 'lww-register', 'or-set'] as const;

/** A kind a state field may be declared as. */
export type StateCrdtKind = (typeof STATE_CRDT_KINDS)[number];

/** The CRDT a field of each kind is, as `AgentStateStore.update` hands it to its operation. */
export interface StateCrdtKinds {
  'g-counter': GCounter;
  'pn-counter': PNCounter;
  'lww-register': LWWRegister;
  'or-set': ORSet;
}

/** What a store needs to make a field's CRDT: its replica id and its clock (for registers). */
export interface CrdtReplica {
  node: string;
  clock: HybridClock;
}

/**
 * The CRDT of a field of `kind` from its stored JSON (undefined: empty), owned by `replica`.
 * @throws StateInvalidError when the JSON is not a state of that kind.
 */
export function crdtOf<K extends StateCrdtKind>(
  agentId: string,
  field: string,
  kind: K,
  json: unknown,
  replica: CrdtReplica,
): StateCrdtKinds[K] {
  return asStateError(agentId, field, () => {
    switch (kind) {
      case 'g-counter':
        return json === undefined ? new GCounter(replica.node) : GCounter.from(json, replica.node);
      case 'pn-counter':
        return json === undefined ? new PNCounter(replica.node) : PNCounter.from(json, replica.node);
      case 'lww-register':
        return json === undefined
          ? new LWWRegister({ clock: replica.clock })
          : LWWRegister.from(json, { clock: replica.clock });
      default:
        return json === undefined ? new ORSet(replica.node) : ORSet.from(json, replica.node);
    }
  }) as StateCrdtKinds[K];
}

/**
 * The JSON state of a field after merging `incoming` (a state or delta of `kind`, untrusted)
 * into `current` (its stored JSON, or undefined).
 * @throws StateInvalidError for a malformed `incoming`, one of another kind, or a register
 * write further ahead of this node's clock than the clock allows.
 */
export function mergeCrdtField(
  agentId: string,
  field: string,
  kind: StateCrdtKind,
  current: unknown,
  incoming: unknown,
  replica: CrdtReplica,
): unknown {
  const crdt = crdtOf(agentId, field, kind, current, replica);
  return asStateError(agentId, field, () => {
    (crdt as { merge(other: unknown): unknown }).merge(incoming);
    return crdt.state();
  });
}

function asStateError<T>(agentId: string, field: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (!(error instanceof CrdtError)) throw error;
    throw new StateInvalidError(agentId, field, `${error.code}: ${error.message.replace(/\.$/, '')}`, {
      cause: error,
    });
  }
}
