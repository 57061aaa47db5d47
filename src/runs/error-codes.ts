/** Stable codes of the errors durable runs and their stores throw (each has an HTTP status in the server's table). */
export type RunsErrorCode =
  | 'RUN_NOT_FOUND'
  | 'RUN_EXISTS'
  | 'RUN_CONFLICT'
  | 'RUN_FINISHED'
  | 'RUN_CANCELLED'
  | 'TOOL_REJECTED'
  | 'RUN_STORE_CORRUPT'
  | 'RUN_STORE_UNAVAILABLE'
  | 'APPROVAL_NOT_FOUND'
  | 'APPROVAL_DECIDED'
  | 'APPROVAL_ARGUMENTS_INVALID'
  | 'EVENT_ID_INVALID';
