/** Stable codes of the errors agent specs and tenant definitions throw (each has an HTTP status in the server's table). */
export type SpecErrorCode =
  | 'SPEC_INVALID'
  | 'MODEL_NOT_CONFIGURED'
  | 'DEFINITION_LIMIT'
  | 'SPEC_TOO_LARGE'
  | 'DEFINITION_RECORD_INVALID'
  | 'DEFINITION_STORE_UNAVAILABLE'
  | 'VERSION_NOT_FOUND';
