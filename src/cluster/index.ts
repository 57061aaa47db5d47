/** The cluster: leases that give each agent (and node) exactly one holder cluster-wide. */
export type { ClusterErrorCode } from './error-codes.ts';
export { LeaseLostError, LeaseStoreUnavailableError } from './errors.ts';
export { LEASE_KEY_PATTERN, type Lease, type LeaseHolder, type LeaseStore } from './lease-store.ts';
export { MemoryLeaseStore } from './memory-lease-store.ts';
