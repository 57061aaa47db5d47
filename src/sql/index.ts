/** SQL helpers shared by the PostgreSQL adapters (the tenant registry, the run store). */
export { applyMigrations, type Migration } from './migrations.ts';
export { openPgPool, type PgPoolSettings, pgStoreOptionsSchema } from './pg-pool.ts';
