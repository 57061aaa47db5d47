/**
 * Agent groups (N identical agents behind one address, least-loaded, scaled without losing a
 * message) and the actuators an autoscaler sizes: a group's replicas, the worker pool's capacity.
 */
export { type Actuator, groupActuator, poolActuator } from './actuators.ts';
export { AgentGroup, type GroupReplicaInfo } from './agent-group.ts';
export { type AgentGroupOptions, GROUP_ID_PATTERN } from './agent-group-options.ts';
export { type AgentGroupSummary, AgentGroups } from './agent-groups.ts';
export type { GroupsErrorCode } from './error-codes.ts';
export {
  GroupClosedError,
  GroupExistsError,
  GroupNotFoundError,
  GroupSizeInvalidError,
  GroupTenantMismatchError,
  GroupUnavailableError,
} from './errors.ts';
