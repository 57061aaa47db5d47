export { type AgentfleetNode, createNode, type NodeParts, type NodeTenancy } from './create-node.ts';
export { nodeTenantDeletion, type TenantOwners } from './tenant-deletion.ts';
