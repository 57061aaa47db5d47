/**
 * Stable codes of the errors rollouts throw (each has an HTTP status in the server's table).
 * `VERSION_NOT_FOUND` is the same code the versioned definitions (spec) throw.
 */
export type RolloutErrorCode =
  | 'ROLLOUT_INVALID'
  | 'ROLLOUT_EXISTS'
  | 'ROLLOUT_NOT_FOUND'
  | 'ROLLOUT_NOT_ACTIVE'
  | 'VERSION_NOT_FOUND'
  | 'ROLLOUT_RECORD_INVALID'
  | 'ROLLOUT_STORE_UNAVAILABLE';
