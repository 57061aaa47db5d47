export { type AgentfleetNode, createNode, type NodeParts, type NodeTenancy } from './create-node.ts';
export { NODE_SCOPE } from './rollout-target.ts';
export { nodeTenantDeletion, type TenantOwners } from './tenant-deletion.ts';
