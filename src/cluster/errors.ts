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

/** A directory record that does not parse (written by something else, or damaged): never used as an agent. */
export class AgentRecordCorruptError extends AgentfleetError<ClusterErrorCode> {
  constructor(key: string, why: string) {
    super('AGENT_RECORD_CORRUPT', `The agent record "${key}" is corrupt: ${why}.`, { details: { key } });
  }
}

/** The agent directory (a JetStream KV bucket) cannot be reached; nothing was changed. */
export class AgentDirectoryUnavailableError extends AgentfleetError<ClusterErrorCode> {
  constructor(what: string, options?: AgentfleetErrorOptions) {
    super('AGENT_DIRECTORY_UNAVAILABLE', `The agent directory could not ${what}.`, options);
  }
}

/** The node a call was routed to left or died before answering; the call may be retried. */
export class AgentOwnerLostError extends AgentfleetError<ClusterErrorCode> {
  constructor(agentId: string, nodeId: string) {
    super(
      'AGENT_OWNER_LOST',
      `Node "${nodeId}", which had agent "${agentId}", left before answering; retry.`,
      {
        details: { agentId, nodeId },
      },
    );
  }
}

/** An agent's definition is registered on no node that could activate it. */
export class DefinitionUnavailableError extends AgentfleetError<ClusterErrorCode> {
  constructor(agentId: string, definition: string) {
    super(
      'DEFINITION_UNAVAILABLE',
      `Agent "${agentId}" needs definition "${definition}", which this cluster's nodes do not have.`,
      { details: { agentId, definition } },
    );
  }
}

/** A call between nodes that does not parse (a foreign or damaged message). */
export class ClusterCallInvalidError extends AgentfleetError<ClusterErrorCode> {
  constructor(why: string) {
    super('CLUSTER_CALL_INVALID', `Invalid cluster call: ${why}.`);
  }
}
