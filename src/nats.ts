/**
 * `agentfleet/nats`: what runs on NATS — the bus transport (`natsTransport`, core NATS and
 * JetStream) and the durable-run store over JetStream KV (`NatsKvRunStore`). A subpath of its
 * own, so the root export never loads the NATS client.
 */
export * from './bus/transports/nats.ts';
export { NatsKvRunStore, type NatsKvRunStoreOptions } from './runs/nats-kv-run-store.ts';
