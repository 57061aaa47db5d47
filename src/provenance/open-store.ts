import { join, resolve } from 'node:path';
import type { ProvenanceStore } from './provenance-store.ts';
import { SqliteProvenanceStore } from './sqlite-provenance-store.ts';

/**
 * Opens the store a `provenance` setting names: `off` none, `sqlite` the file
 * `provenance.db` in `dataDir`, a `postgres://` URL PostgreSQL (its client loaded only then).
 */
export async function openProvenanceStore(
  setting: string,
  dataDir: string,
): Promise<ProvenanceStore | undefined> {
  if (setting === 'off') return undefined;
  if (setting === 'sqlite')
    return SqliteProvenanceStore.open({ path: join(resolve(dataDir), 'provenance.db') });
  const { PostgresProvenanceStore } = await import('./internal.ts');
  return PostgresProvenanceStore.open({ connectionString: setting });
}
