import type { ServerConfig } from '../config/index.ts';
import { type ChainReport, openProvenanceStore } from '../provenance/index.ts';

/**
 * `agentfleet provenance verify [--tenant T]`: checks the hash chain of one tenant's
 * provenance records, or of every tenant's, in the store the config names. Prints one line per
 * tenant (the first broken link when there is one); returns 0 when every chain holds, 1 when
 * one is broken, 2 when provenance is off.
 */
export async function verifyProvenance(
  config: ServerConfig,
  tenant: string | undefined,
  out: { log: (line: string) => void; error: (line: string) => void } = console,
): Promise<number> {
  const store = await openProvenanceStore(config.provenance, config.dataDir);
  if (store === undefined) {
    out.error(
      'agentfleet: provenance is off in this configuration (set provenance to sqlite or a postgres:// URL)',
    );
    return 2;
  }
  try {
    const tenants = tenant === undefined ? await store.tenants() : [tenant];
    if (tenants.length === 0) out.log('no provenance records');
    let broken = 0;
    for (const t of tenants) {
      const report = await store.verify(t);
      if (!report.ok) broken++;
      (report.ok ? out.log : out.error)(formatReport(report));
    }
    return broken === 0 ? 0 : 1;
  } finally {
    await store.close();
  }
}

/** One line of a tenant's chain report. */
export function formatReport(report: ChainReport): string {
  if (report.ok) return `tenant ${report.tenant}: ${report.records} records, chain intact`;
  const b = report.broken;
  return `tenant ${report.tenant}: chain broken at seq ${b?.seq} (record ${b?.id}): ${b?.reason}`;
}
