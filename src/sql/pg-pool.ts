import pg from 'pg';

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
