// The cluster side of a node: its stores (the parts' or the config's NATS buckets), the fleet
// that joins it, the CRDT replica id of this process, and the agents a dead node left runs for.
import { randomBytes } from 'node:crypto';
import {
  type AgentDirectory,
  ClusterFleet,
  type ClusterFleetOptions,
  type LeaseStore,
} from '../cluster/index.ts';
import type { ServerConfig } from '../config/index.ts';
import type { RunStore } from '../runs/index.ts';

/** Opens the cluster's stores (the parts' or the config's NATS buckets) and joins it. */
export async function openCluster(
  config: ServerConfig,
  parts: { cluster?: { directory: AgentDirectory; leases: LeaseStore } },
  options: Omit<ClusterFleetOptions, 'directory' | 'leases' | 'hibernateAfterMs'>,
): Promise<{ fleet: ClusterFleet; leases: LeaseStore; close: () => Promise<void> }> {
  const common = { name: config.clusterName, hibernateAfterMs: config.hibernateAfterMs, ...options };
  if (parts.cluster !== undefined) {
    const fleet = await ClusterFleet.open({
      ...common,
      directory: parts.cluster.directory,
      leases: parts.cluster.leases,
    });
    return { fleet, leases: parts.cluster.leases, close: async () => {} };
  }
  const { NatsKvAgentDirectory, NatsKvLeaseStore } = await import('../cluster/internal.ts');
  const servers = config.cluster.split(',');
  const replicas = config.clusterReplicas;
  const leases = await NatsKvLeaseStore.open({
    servers,
    bucket: `${config.clusterName}-leases`,
    leaseMs: config.clusterLeaseMs,
    replicas,
  });
  let directory: AgentDirectory | undefined;
  try {
    directory = await NatsKvAgentDirectory.open({
      servers,
      bucket: `${config.clusterName}-agents`,
      replicas,
    });
    const fleet = await ClusterFleet.open({ ...common, directory, leases });
    const opened = directory;
    return { fleet, leases, close: async () => void (await Promise.all([opened.close(), leases.close()])) };
  } catch (error) {
    await directory?.close();
    await leases.close();
    throw error;
  }
}

/**
 * The CRDT replica id of this node's process: its node id and a random suffix. A node that
 * restarts under the same id starts its counters empty while its peers still hold its older
 * totals, so increments it made before catching up would be lost under the old id; a new id
 * per process makes each start a new replica.
 */
export function replicaId(nodeId: string): string {
  return `${nodeId.slice(0, 55)}@${randomBytes(4).toString('hex')}`;
}

/** The agents with unfinished runs of a node, page by page (for taking over a dead node's runs). */
export async function* unfinishedAgents(
  store: RunStore,
  owner: string,
): AsyncIterable<{ tenant: string | undefined; agentId: string }> {
  let after: string | undefined;
  for (;;) {
    const page = await store.unfinished({ owner, limit: 1_000, after });
    for (const run of page) yield { tenant: run.tenant, agentId: run.agentId };
    if (page.length < 1_000) return;
    after = page.at(-1)?.id;
  }
}
