/** Stable codes of the errors the CRDTs, their hybrid logical clock and the replicator throw (each has an HTTP status in the server's table). */
export type CrdtErrorCode =
  | 'CRDT_INVALID'
  | 'CRDT_NODE_ID_INVALID'
  | 'CRDT_OP_INVALID'
  | 'CRDT_CLOCK_SKEW'
  | 'CRDT_FOREIGN'
  | 'CRDT_TOO_LARGE'
  | 'CRDT_REPLICATOR_CLOSED';
