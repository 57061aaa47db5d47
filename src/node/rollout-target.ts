import type { RolloutTarget } from '../rollout/index.ts';
import type { AgentsFolder, TenantDefinitions } from '../spec/index.ts';

/**
 * The "tenant" of the node's own definitions (its agents folder) in rollouts: no tenant id can
 * be it (they start with a letter or digit), so an operator's rollout never meets a tenant's.
 */
export const NODE_SCOPE = '_node';

/**
 * What rollouts move on this node: a tenant's own definitions (their versions shared through the
 * cluster's store, so a promotion is made on every node) or, under `NODE_SCOPE`, the agents
 * folder's (this node's; a promotion lasts until the file changes or the node restarts).
 */
export function nodeRolloutTarget(
  definitions: TenantDefinitions,
  folder: AgentsFolder | undefined,
): RolloutTarget {
  const folderVersions = (name: string) => folder?.versions(name);
  return {
    hasVersion(tenant, name, version) {
      if (tenant === NODE_SCOPE) return folderVersions(name)?.find(version) !== undefined;
      return definitions.findVersion(tenant, name, version) !== undefined;
    },
    currentVersion(tenant, name) {
      if (tenant === NODE_SCOPE) return folderVersions(name)?.current?.version;
      return definitions.versions(tenant, name)?.find((v) => v.current)?.version;
    },
    async setSplit(tenant, name, split) {
      if (tenant !== NODE_SCOPE) return definitions.setSplit(tenant, name, split);
      const versions = folderVersions(name);
      if (versions !== undefined || split !== undefined) await versions?.setSplit(split);
    },
    async promote(tenant, name, version) {
      if (tenant !== NODE_SCOPE) {
        // Every node that saw the rollout promotes: the first write moves it, the others find it done.
        if (definitions.versions(tenant, name)?.find((v) => v.current)?.version === version) return;
        await definitions.setCurrent(tenant, name, version);
        return;
      }
      await folder?.setCurrent(name, version);
    },
  };
}
