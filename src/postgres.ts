// `agentfleet/postgres`: everything that keeps its data in PostgreSQL (it loads `pg`, which the
// root export never does). The tenant registry, the durable-run store and the provenance store.
export { PostgresProvenanceStore, type PostgresProvenanceStoreOptions } from './provenance/internal.ts';
export { PostgresRunStore, type PostgresRunStoreOptions } from './runs/internal.ts';
export {
  openPostgresTenantRegistry,
  PostgresTenantRegistry,
  type PostgresTenantRegistryOptions,
} from './tenancy/internal.ts';
