export { AgentStateStore, createStateStore } from './agent-state-store.ts';
export { STATE_CRDT_KINDS, type StateCrdtKind, type StateCrdtKinds } from './crdt-fields.ts';
export type { StateErrorCode } from './errors.ts';
export {
  StateConfigInvalidError,
  StateInvalidError,
  type StateLimit,
  StateLimitError,
  StateStoreClosedError,
} from './errors.ts';
export { ExpiryEntry, ExpiryWheel, type ExpiryWheelOptions } from './expiry-wheel.ts';
export { MAX_VALUE_DEPTH, toFrozenJson } from './json-value.ts';
export {
  createStateReplica,
  StateReplica,
  type StateReplicaEvents,
  type StateReplicaOptions,
  type StateReplicaStats,
} from './state-replica.ts';
export {
  DEFAULT_RELEVANCE,
  DEFAULT_STATE_SYNC_CONFIG,
  DEFAULT_TTL_MS,
  DEFAULT_TTL_RULES,
  loadStateSyncConfig,
  MAX_FIELD_NAME_LENGTH,
  MAX_TTL_MS,
  parseStateSyncConfig,
  type StateSyncConfig,
  type StateSyncConfigInput,
  stateSyncConfigSchema,
  TAG_PATTERN,
  type TtlCondition,
  type TtlRule,
} from './state-schema.ts';
export type { StateStoreOptions } from './state-store-options.ts';
export {
  AGENT_ID_PATTERN,
  deletedTopic,
  deltaTopic,
  expiredTopic,
  SNAPSHOTS_TOPIC,
  type StateDeletedEvent,
  type StateDelta,
  type StateExpiredEvent,
  type StateSnapshot,
  type StateSnapshotPage,
  type StateSnapshotReply,
  type StateStoreEvents,
  type StateStoreStats,
  type StateUpdate,
  type StateView,
  snapshotTopic,
} from './state-types.ts';
export { MAX_TAGS, normalizeTags } from './tag-context.ts';
export { type TtlDecision, TtlPolicy } from './ttl-policy.ts';
