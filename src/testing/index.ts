/**
 * `agentfleet/testing`: the contract suites every adapter passes (the in-memory defaults and
 * the NATS, MQTT, Redis and PostgreSQL engines run them in this repository), exported so a
 * third party can test their own transport, store, registry, index or limiter the same way.
 * Each suite registers its tests with `node:test` when called at the top level of a test file:
 *
 * ```ts
 * import { transportContract } from 'agentfleet/testing';
 * transportContract('my transport', { connect: async () => new MyTransport(), wire: true });
 * ```
 * and `node --test` runs them.
 */
export { type AgentDirectoryContractOptions, agentDirectoryContract } from './agent-directory.contract.ts';
export { type CodedError, rejectsWithCode, throwsWithCode } from './assertions.ts';
export { type DefinitionStoreContractOptions, definitionStoreContract } from './definition-store.contract.ts';
export { type IdempotencyContractOptions, idempotencyStoreContract } from './idempotency.contract.ts';
export { type LeaseStoreContractOptions, leaseStoreContract } from './lease-store.contract.ts';
export {
  LossyTransport,
  type LossyTransportOptions,
  type LossyTransportStats,
  lossyTransport,
} from './lossy-transport.ts';
export {
  type ProvenanceStoreContractOptions,
  provenanceStoreContract,
  sampleDecision,
} from './provenance-store.contract.ts';
export { type RateLimiterContractOptions, rateLimiterContract } from './rate-limiter.contract.ts';
export { type RegistryContractOptions, tenantRegistryContract } from './registry.contract.ts';
export {
  type RolloutStoreContractOptions,
  rolloutStoreContract,
  sampleRollout,
} from './rollout-store.contract.ts';
export { type RunStoreContractOptions, runStoreContract, sampleRun } from './run-store.contract.ts';
export { type TransportContractOptions, transportContract } from './transport.contract.ts';
export { type VectorIndexContractOptions, vectorIndexContract } from './vector-index.contract.ts';
