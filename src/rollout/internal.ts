/** The rollouts store on NATS, for the node to load only when a cluster is configured (the package exposes it through `agentfleet/nats`). */
export { NatsKvRolloutStore, type NatsKvRolloutStoreOptions } from './nats-kv-rollout-store.ts';
