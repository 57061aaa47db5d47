import { AgentfleetError, type AgentfleetErrorOptions } from '../errors/index.ts';
import type { ClusterErrorCode } from './error-codes.ts';

/** A lease could not be renewed or released: it expired, or another node holds it now. */
export class LeaseLostError extends AgentfleetError<ClusterErrorCode> {
  constructor(key: string, why: string) {
    super('LEASE_LOST', `The lease on "${key}" is lost: ${why}.`, { details: { key } });
  }
}

/** The lease store (a JetStream KV bucket) cannot be reached; nothing was taken or given up. */
export class LeaseStoreUnavailableError extends AgentfleetError<ClusterErrorCode> {
  constructor(what: string, options?: AgentfleetErrorOptions) {
    super('LEASE_STORE_UNAVAILABLE', `The lease store could not ${what}.`, options);
  }
}

/** A node joined with the id of a node that is still live. */
export class NodeIdTakenError extends AgentfleetError<ClusterErrorCode> {
  constructor(nodeId: string) {
    super('NODE_ID_TAKEN', `Another live node already has the id "${nodeId}".`, { details: { nodeId } });
  }
}
