/** Stable codes of the errors autoscaling throws (each has an HTTP status in the server's table). */
export type AutoscaleErrorCode =
  | 'AUTOSCALE_POLICY_INVALID'
  | 'AUTOSCALE_SOURCE_UNAVAILABLE'
  | 'AUTOSCALE_QUERY_INVALID';
