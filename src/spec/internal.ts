/** The definitions store on NATS, for the node to load only when a cluster is configured (the package exposes it through `agentfleet/nats`). */
export { NatsKvDefinitionStore, type NatsKvDefinitionStoreOptions } from './nats-kv-definition-store.ts';
