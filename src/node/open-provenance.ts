import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ServerConfig } from '../config/index.ts';
import { openProvenanceStore, ProvenanceRecorder } from '../provenance/index.ts';

/**
 * Opens the provenance store the config names (`off`: none; `sqlite`: `provenance.db` in the
 * data folder; a `postgres://` URL) and its recorder, which writes decisions in batches and
 * prunes past `provenanceRetentionDays`.
 */
export async function openProvenance(
  config: ServerConfig,
  logger: Logger,
): Promise<ProvenanceRecorder | undefined> {
  const store = await openProvenanceStore(config.provenance, config.dataDir);
  if (store === undefined) return undefined;
  return new ProvenanceRecorder({
    store,
    retentionDays: config.provenanceRetentionDays,
    onError: (error) => logger.warn({ err: error }, 'provenance records could not be written'),
  });
}

/** The recorder's counters on the node's `/metrics`. */
export async function registerProvenanceMetrics(
  registry: Registry,
  prefix: string,
  recorder: ProvenanceRecorder,
): Promise<void> {
  // Loaded here, as the metrics are: the root export loads no Prometheus client.
  const { Counter } = await import('prom-client');
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name: `${prefix}${name}`,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  counter('provenance_records_written_total', 'Provenance records written.', () => recorder.stats().written);
  counter(
    'provenance_records_dropped_total',
    'Provenance records dropped because the queue was full.',
    () => recorder.stats().dropped,
  );
  counter(
    'provenance_records_failed_total',
    'Provenance records of batches the store refused.',
    () => recorder.stats().failed,
  );
}
