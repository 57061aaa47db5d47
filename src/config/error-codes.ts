/** Stable codes of the errors the server configuration throws (each has an HTTP status in the server's table). */
export type ConfigErrorCode = 'CONFIG_INVALID';
