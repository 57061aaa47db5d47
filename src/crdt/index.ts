export type { CausalContextJson, Dot } from './causal-context.ts';
export { MAX_COUNTER_NODES } from './counts.ts';
export {
  type Crdt,
  type CrdtKind,
  type CrdtKinds,
  CrdtMap,
  type CrdtMapState,
  type CrdtState,
  MAX_FIELD_NAME_LENGTH,
} from './crdt-map.ts';
export { type CrdtDigest, digestOf, type FieldDigest, missingFrom } from './digest.ts';
export type { CrdtErrorCode } from './error-codes.ts';
export { CrdtError } from './errors.ts';
export { GCounter, type GCounterState } from './g-counter.ts';
export {
  compareHlc,
  type HlcTimestamp,
  HybridClock,
  type HybridClockOptions,
  MAX_HLC_COUNTER,
} from './hybrid-clock.ts';
export { LWWRegister, type LWWRegisterOptions, type LWWRegisterState } from './lww-register.ts';
export { NODE_ID_PATTERN } from './node-id.ts';
export { ORSet, type ORSetOptions, type ORSetState } from './or-set.ts';
export { PNCounter, type PNCounterState } from './pn-counter.ts';
export { CrdtReplicator } from './replicator.ts';
export type { CrdtReplicatorOptions, CrdtReplicatorStats } from './replicator-options.ts';
export {
  SharedCrdt,
  type SharedCrdtOptions,
  type SharedKind,
  type SharedKinds,
  type SharedValues,
} from './shared-crdt.ts';
