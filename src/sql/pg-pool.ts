import pg from 'pg';
import { z } from 'zod';

/** The connection settings every PostgreSQL store of Agentfleet takes. */
export interface PgPoolSettings {
  connectionString?: string | undefined;
  maxConnections: number;
  connectTimeoutMs: number;
  queryTimeoutMs: number;
}

/**
 * A pool with every call bounded: connecting by `connectTimeoutMs`, each query and statement by
 * `queryTimeoutMs`, and a session idle inside a transaction too (a node that stalls mid-transaction
 * must not hold a lock for ever). An idle client that loses its connection is replaced, not thrown.
 */
export function openPgPool(settings: PgPoolSettings, applicationName: string): pg.Pool {
  const pool = new pg.Pool({
    connectionString: settings.connectionString,
    max: settings.maxConnections,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    query_timeout: settings.queryTimeoutMs,
    statement_timeout: settings.queryTimeoutMs,
    idle_in_transaction_session_timeout: settings.queryTimeoutMs,
    keepAlive: true,
    application_name: applicationName,
  });
  pool.on('error', () => {}); // an idle client lost its connection; the pool replaces it
  return pool;
}

/**
 * The options schema of a PostgreSQL store (connection, schema, pool size, timeouts), with the
 * store's own defaults for its pool and its statements. A timeout ends in the store's
 * `…_UNAVAILABLE` error.
 */
export function pgStoreOptionsSchema(defaults: { maxConnections: number; queryTimeoutMs: number }) {
  return z.strictObject({
    /** A `postgres://` URL. Default: the standard `PG*` environment variables. */
    connectionString: z.string().optional(),
    /** Schema holding the tables, created if missing. Default `public`. */
    schema: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier')
      .default('public'),
    /** Connections in the pool. */
    maxConnections: z.number().int().min(1).max(1_000).default(defaults.maxConnections),
    /** Milliseconds to get a connection (from the pool or a new one). Default 5,000. */
    connectTimeoutMs: z.number().int().min(1).default(5_000),
    /** Milliseconds a statement may take, on the server (`statement_timeout`) and in the client (a server that stops answering). */
    queryTimeoutMs: z.number().int().min(1).default(defaults.queryTimeoutMs),
  });
}
