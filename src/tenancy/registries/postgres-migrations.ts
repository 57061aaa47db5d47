import type { PoolClient } from 'pg';
import { applyMigrations, type Migration } from '../../sql/index.ts';

/**
 * The registry's schema, one entry per version, applied in order and recorded in
 * `<schema>.agentfleet_migrations`. Append new versions; never edit an applied one.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: (s) => `
      CREATE TABLE ${s}.agentfleet_tenants (
        id text PRIMARY KEY,
        name text NOT NULL,
        quotas jsonb NOT NULL DEFAULT '{}'::jsonb,
        disabled boolean NOT NULL DEFAULT false,
        created_at bigint NOT NULL
      );
      CREATE TABLE ${s}.agentfleet_api_keys (
        id text PRIMARY KEY,
        tenant_id text NOT NULL REFERENCES ${s}.agentfleet_tenants(id) ON DELETE CASCADE,
        name text NOT NULL,
        hash char(64) NOT NULL,
        created_at bigint NOT NULL,
        revoked_at bigint
      );
      CREATE INDEX agentfleet_api_keys_tenant ON ${s}.agentfleet_api_keys (tenant_id);`,
  },
];

/** Applies missing migrations (see `applyMigrations`); returns the versions it applied. */
export function migrate(client: PoolClient, schema: string): Promise<number[]> {
  return applyMigrations(client, schema, 'agentfleet_migrations', MIGRATIONS);
}
