/**
 * `agentfleet/nats`: what runs on NATS — the bus transport (`natsTransport`, core NATS and
 * JetStream), the durable-run store over JetStream KV (`NatsKvRunStore`) and the cluster's
 * leases, agent directory, tenants' definitions and rollouts on JetStream KV (`NatsKvLeaseStore`,
 * `NatsKvAgentDirectory`, `NatsKvDefinitionStore`, `NatsKvRolloutStore`). A subpath of its
 * own, so the root export never loads the NATS client.
 */
export * from './bus/transports/nats.ts';
export {
  NatsKvAgentDirectory,
  type NatsKvAgentDirectoryOptions,
} from './cluster/nats-kv-agent-directory.ts';
export { NatsKvLeaseStore, type NatsKvLeaseStoreOptions } from './cluster/nats-kv-lease-store.ts';
export { NatsKvRolloutStore, type NatsKvRolloutStoreOptions } from './rollout/nats-kv-rollout-store.ts';
export { NatsKvRunStore, type NatsKvRunStoreOptions } from './runs/nats-kv-run-store.ts';
export {
  NatsKvDefinitionStore,
  type NatsKvDefinitionStoreOptions,
} from './spec/nats-kv-definition-store.ts';
