// The runs folder's internal barrel: what other folders and package subpaths need that the
// root (src/runs/index.ts) must not load, such as adapters that bring a database client.
export { PostgresRunStore, type PostgresRunStoreOptions } from './postgres-run-store.ts';
