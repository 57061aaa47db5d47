/** Stable codes of the errors the cluster layer throws (each has an HTTP status in the server's table). */
export type ClusterErrorCode =
  | 'LEASE_LOST'
  | 'LEASE_STORE_UNAVAILABLE'
  | 'NODE_ID_TAKEN'
  | 'AGENT_RECORD_CORRUPT'
  | 'AGENT_DIRECTORY_UNAVAILABLE'
  | 'AGENT_OWNER_LOST'
  | 'DEFINITION_UNAVAILABLE'
  | 'CLUSTER_CALL_INVALID'
  | 'STATE_UNAVAILABLE'
  | 'RUNS_UNAVAILABLE';
