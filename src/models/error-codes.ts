/** Stable codes of the errors the model registry and fallback chains throws (each has an HTTP status in the server's table). */
export type ModelsErrorCode =
  | 'ALL_FALLBACKS_FAILED'
  | 'INVALID_MODEL'
  | 'MODELS_CLOSED'
  | 'PROVIDER_CONFIG_INVALID'
  | 'PROVIDER_REMOVED'
  | 'UNKNOWN_PROVIDER';
