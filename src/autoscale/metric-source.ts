import type { AutoscaleError } from './errors.ts';

/**
 * What a policy asks a source for: a metric name for the node's own figures
 * (`pool.utilisation`, `mailbox.depth{definition="triage"}`), PromQL text for Prometheus.
 */
export type MetricQuery = string;

/**
 * One answer: `ok` with a number, `no-data` (the query matched nothing; `value` undefined), or
 * `error` with a typed error (`AUTOSCALE_SOURCE_UNAVAILABLE`, `AUTOSCALE_QUERY_INVALID`).
 */
export interface MetricReading {
  query: MetricQuery;
  status: 'ok' | 'no-data' | 'error';
  value: number | undefined;
  error?: AutoscaleError;
}

/**
 * Where an autoscaler reads its figures. `read` answers every query (one reading each, in
 * order) and does not reject for a failed query: the failure is in the reading. It rejects
 * only with `ABORTED` when `signal` fires.
 */
export interface MetricSource {
  readonly name: string;
  read(queries: readonly MetricQuery[], signal?: AbortSignal): Promise<MetricReading[]>;
  /** Releases what the source holds. Idempotent. */
  close(): void | Promise<void>;
}

/** A reading with a value, or `no-data` when the value is undefined or NaN. */
export function valueReading(query: MetricQuery, value: number | undefined): MetricReading {
  return value === undefined || Number.isNaN(value)
    ? { query, status: 'no-data', value: undefined }
    : { query, status: 'ok', value };
}

/** A failed reading. */
export function errorReading(query: MetricQuery, error: AutoscaleError): MetricReading {
  return { query, status: 'error', value: undefined, error };
}
