// The provenance folder's internal barrel: adapters that bring a database client, which the
// root (src/provenance/index.ts) must not load.
export { PostgresProvenanceStore, type PostgresProvenanceStoreOptions } from './postgres-provenance-store.ts';
