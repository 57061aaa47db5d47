import type { PoolClient } from 'pg';
import { applyMigrations, type Migration } from '../sql/index.ts';

// Ids, tenants and agent ids compare byte-wise (COLLATE "C"), as the memory and SQLite stores
// compare them: time-ordered ids page the same in every adapter whatever the database's locale.
// Rows are text (JSON), not jsonb: they are validated on read anyway, and a corrupt row stays
// readable as the typed error it is.

/**
 * The run store's schema, one entry per version, applied in order and recorded in
 * `<schema>.agentfleet_run_migrations` (apart from the tenant registry's, which may share the
 * schema). Append new versions; never edit an applied one.
 */
export const RUN_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: (s) => `
      CREATE TABLE ${s}.agentfleet_runs (
        tenant text COLLATE "C" NOT NULL,
        id text COLLATE "C" NOT NULL,
        agent_id text COLLATE "C" NOT NULL,
        status text NOT NULL,
        owner text,
        seq integer NOT NULL,
        finished_at bigint,
        events_swept boolean NOT NULL DEFAULT false,
        record text NOT NULL,
        PRIMARY KEY (tenant, id)
      );
      CREATE INDEX agentfleet_runs_by_agent ON ${s}.agentfleet_runs (tenant, agent_id, id);
      CREATE INDEX agentfleet_runs_unfinished ON ${s}.agentfleet_runs (id)
        WHERE status IN ('running', 'awaiting-approval');
      CREATE INDEX agentfleet_runs_finished ON ${s}.agentfleet_runs (finished_at)
        WHERE finished_at IS NOT NULL;
      CREATE TABLE ${s}.agentfleet_run_events (
        tenant text COLLATE "C" NOT NULL,
        run_id text COLLATE "C" NOT NULL,
        seq integer NOT NULL,
        event text NOT NULL,
        PRIMARY KEY (tenant, run_id, seq)
      );
      CREATE TABLE ${s}.agentfleet_approvals (
        tenant text COLLATE "C" NOT NULL,
        id text COLLATE "C" NOT NULL,
        run_id text COLLATE "C" NOT NULL,
        status text NOT NULL,
        expires_at bigint,
        decided_at bigint,
        record text NOT NULL,
        PRIMARY KEY (tenant, id)
      );
      CREATE INDEX agentfleet_approvals_by_run ON ${s}.agentfleet_approvals (tenant, run_id, id);
      CREATE INDEX agentfleet_approvals_due ON ${s}.agentfleet_approvals (expires_at, id)
        WHERE status = 'pending';
      CREATE INDEX agentfleet_approvals_decided ON ${s}.agentfleet_approvals (decided_at)
        WHERE decided_at IS NOT NULL;
      CREATE TABLE ${s}.agentfleet_conversations (
        tenant text COLLATE "C" NOT NULL,
        agent_id text COLLATE "C" NOT NULL,
        conversation text NOT NULL,
        PRIMARY KEY (tenant, agent_id)
      );`,
  },
];

/** Applies missing migrations (see `applyMigrations`); returns the versions it applied. */
export function migrateRuns(client: PoolClient, schema: string): Promise<number[]> {
  return applyMigrations(client, schema, 'agentfleet_run_migrations', RUN_MIGRATIONS);
}
