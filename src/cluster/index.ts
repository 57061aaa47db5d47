/** The cluster: leases that give each agent (and node) exactly one holder cluster-wide, and the directory of every agent. */

export type {
  AgentDirectory,
  ListAgentRecordsOptions,
} from './agent-directory.ts';
export { type AgentRecord, agentRecordSchema, type StoredAgent, SYSTEM_SCOPE } from './agent-record.ts';
export { MAX_AGENT_RECORD_BYTES } from './agent-record-checks.ts';
export { ClusterFleet, type ClusterFleetOptions } from './cluster-fleet.ts';
export { type ClusterTenantUsage, ClusterUsage, type ClusterUsageOptions } from './cluster-usage.ts';
export { CrdtBudgetLedger, type CrdtBudgetLedgerOptions } from './crdt-budget-ledger.ts';
export type { ClusterErrorCode } from './error-codes.ts';
export {
  AgentDirectoryUnavailableError,
  AgentOwnerLostError,
  AgentRecordCorruptError,
  ClusterCallInvalidError,
  DefinitionUnavailableError,
  LeaseLostError,
  LeaseStoreUnavailableError,
  NodeIdTakenError,
} from './errors.ts';
export type {
  AgentFleet,
  CreateFleetAgent,
  FleetAgentSummary,
  FleetReply,
  FleetSendOptions,
  ListFleetAgentsOptions,
  StateCall,
} from './fleet.ts';
export type { AgentCall, AgentStateSnapshot, FleetHost } from './fleet-host.ts';
export { LeaseKeeper, type LeaseKeeperOptions } from './lease-keeper.ts';
export { LEASE_KEY_PATTERN, type Lease, type LeaseHolder, type LeaseStore } from './lease-store.ts';
export { LocalFleet, requireAgent } from './local-fleet.ts';
export { Membership } from './membership.ts';
export { MemoryAgentDirectory } from './memory-agent-directory.ts';
export { MemoryLeaseStore } from './memory-lease-store.ts';
export { durableRunInput, NodeAgentHost, type NodeAgentHostParts } from './node-agent-host.ts';
export { placeAgent } from './placement.ts';
