/** Stable codes of the errors the ground floor (any capability may throw them) throws (each has an HTTP status in the server's table). */
export type BaseErrorCode = 'ABORTED' | 'INVALID_OPTIONS';
