import type { ServerConfig } from '../config/index.ts';
import { type DefinitionStore, MemoryDefinitionStore } from '../spec/index.ts';

/**
 * The store tenants' own definitions are shared through, in a cluster: the parts' (several
 * nodes of one process on one `MemoryDefinitionStore`, not closed by the node), else the
 * config's NATS bucket `<clusterName>-definitions`, else (a cluster of the parts' stores that
 * gave none) one in memory, this node's alone. Undefined outside a cluster: they stay in the
 * node's memory.
 */
export async function openDefinitionStore(
  config: ServerConfig,
  cluster: { definitions?: DefinitionStore } | undefined,
): Promise<{ store: DefinitionStore; close: () => Promise<void> } | undefined> {
  if (cluster?.definitions !== undefined) return { store: cluster.definitions, close: async () => {} };
  if (cluster !== undefined) {
    const store = new MemoryDefinitionStore();
    return { store, close: () => store.close() };
  }
  if (config.cluster === 'off') return undefined;
  const { NatsKvDefinitionStore } = await import('../spec/internal.ts');
  const store = await NatsKvDefinitionStore.open({
    servers: config.cluster.split(','),
    bucket: `${config.clusterName}-definitions`,
    replicas: config.clusterReplicas,
  });
  return { store, close: () => store.close() };
}
