// The tenancy folder's internal barrel: what other folders and package subpaths need that the
// root (src/tenancy/index.ts) must not load, such as registries that bring a database client.
export {
  openPostgresTenantRegistry,
  PostgresTenantRegistry,
  type PostgresTenantRegistryOptions,
} from './registries/postgres.ts';
