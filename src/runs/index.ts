export type { RunsErrorCode } from './error-codes.ts';
export {
  alreadyExists,
  approvalNotFound,
  eventIdInvalid,
  RunsError,
  runFinished,
  runNotFound,
} from './errors.ts';
export { MemoryRunStore } from './memory-run-store.ts';
export { newApprovalId, newRunId } from './run-ids.ts';
export {
  APPROVAL_ID_PATTERN,
  type ApprovalDecision,
  type ApprovalRecord,
  type ApprovalStatus,
  approvalStatusSchema,
  type Conversation,
  isFinished,
  RUN_ID_PATTERN,
  type RunEvent,
  type RunEventBody,
  type RunPatch,
  type RunRecord,
  type RunStatus,
  runStatusSchema,
} from './run-schemas.ts';
export { type ApprovalAnswer, type RunHost, RunService, type RunServiceOptions } from './run-service.ts';
export type {
  ListApprovalsOptions,
  ListRunsOptions,
  RunStore,
  RunStorePurge,
  SweepOptions,
} from './run-store.ts';
export { SqliteRunStore, type SqliteRunStoreOptions } from './sqlite-run-store.ts';
export { WatchedRunStore } from './watched-run-store.ts';
