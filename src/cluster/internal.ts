/** The cluster's NATS adapters, for the node to load only when a cluster is configured (the package exposes them through `agentfleet/nats`). */
export { NatsKvAgentDirectory } from './nats-kv-agent-directory.ts';
export { NatsKvLeaseStore } from './nats-kv-lease-store.ts';
