/** Stable codes of the errors agent groups throw (each has an HTTP status in the server's table). */
export type GroupsErrorCode =
  | 'GROUP_CLOSED'
  | 'GROUP_EXISTS'
  | 'GROUP_NOT_FOUND'
  | 'GROUP_SIZE_INVALID'
  | 'GROUP_TENANT_MISMATCH'
  | 'GROUP_UNAVAILABLE';
