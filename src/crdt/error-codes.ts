/** Stable codes of the errors the CRDTs and their hybrid logical clock throw (each has an HTTP status in the server's table). */
export type CrdtErrorCode = 'CRDT_INVALID' | 'CRDT_NODE_ID_INVALID' | 'CRDT_OP_INVALID' | 'CRDT_CLOCK_SKEW';
