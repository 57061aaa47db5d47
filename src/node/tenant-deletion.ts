import type { Runtime } from '../core/index.ts';
import type { KnowledgeBase } from '../knowledge/index.ts';
import type { ProvenanceStore } from '../provenance/index.ts';
import type { RunStore } from '../runs/index.ts';
import type { AgentStateStore } from '../state/index.ts';
import {
  type Authenticator,
  TenantDeletion,
  type TenantPurger,
  type TenantQuotaGate,
  type TenantRegistry,
} from '../tenancy/index.ts';

/** What a node holds for its tenants. */
export interface TenantOwners {
  registry: TenantRegistry;
  runtime: Runtime;
  authenticator?: Authenticator;
  quotas?: TenantQuotaGate;
  state?: AgentStateStore;
  knowledge?: KnowledgeBase;
  /** Tenants' own agent definitions (`PUT /v1/definitions/:name`). */
  definitions?: TenantPurger;
  /** Durable runs, approvals and conversations. */
  runs?: RunStore;
  /** Provenance records of the tenant's decisions. */
  provenance?: Pick<ProvenanceStore, 'purgeTenant'>;
  /** The cluster's agents: records, and their active copies on every node. */
  fleet?: Pick<TenantPurger, 'purgeTenant'>;
  /** Budget spending and reservations (this node's copy). */
  budgets?: { purgeTenant(tenant: string): void };
  /** The tenant's agent groups (closed, their replicas drained, before its agents go). */
  groups?: { purgeTenant(tenant: string): Promise<{ groups: number }> };
  /** Rollouts of the tenant's definitions (in the cluster's store). */
  rollouts?: { purgeTenant(tenant: string): Promise<number> };
}

/**
 * The node's tenant deletion: the tenant is disabled, then its keys are revoked (and cached
 * lookups dropped), its agents removed (and their conversations), its state deleted, its quota
 * windows cleared, its knowledge documents deleted (memory and disk), its own definitions dropped, its runs, approvals and stored conversations deleted and its provenance records deleted, before the registry
 * entry goes. A new owner of tenant data adds its purger here.
 */
export function nodeTenantDeletion(owners: TenantOwners): TenantDeletion {
  const {
    registry,
    runtime,
    authenticator,
    quotas,
    state,
    knowledge,
    definitions,
    runs,
    provenance,
    fleet,
    budgets,
    rollouts,
    groups,
  } = owners;
  const deletion = new TenantDeletion({ registry });
  deletion.add({
    name: 'keys',
    async purgeTenant(id) {
      let revoked = 0;
      for (const key of await registry.listKeys(id)) {
        if (key.revokedAt === null && (await registry.revokeKey(id, key.id))) revoked++;
      }
      authenticator?.invalidateTenant(id);
      return { revoked };
    },
  });
  if (fleet !== undefined)
    deletion.add({ name: 'cluster', purgeTenant: (id, o) => fleet.purgeTenant(id, o) });
  if (groups !== undefined) deletion.add({ name: 'groups', purgeTenant: (id) => groups.purgeTenant(id) });
  deletion.add({ name: 'agents', purgeTenant: (id, o) => runtime.purgeTenant(id, o) });
  if (state !== undefined) deletion.add({ name: 'state', purgeTenant: (id) => state.purgeTenant(id) });
  if (quotas !== undefined) deletion.add({ name: 'quotas', purgeTenant: (id) => quotas.purgeTenant(id) });
  if (knowledge !== undefined) {
    deletion.add({ name: 'knowledge', purgeTenant: (id, o) => knowledge.deleteTenant(id, o) });
  }
  if (rollouts !== undefined)
    deletion.add({
      name: 'rollouts',
      purgeTenant: async (id) => ({ rollouts: await rollouts.purgeTenant(id) }),
    });
  if (definitions !== undefined) {
    deletion.add({ name: 'definitions', purgeTenant: (id, o) => definitions.purgeTenant(id, o) });
  }
  if (runs !== undefined) deletion.add({ name: 'runs', purgeTenant: (id) => runs.purgeTenant(id) });
  if (budgets !== undefined)
    deletion.add({
      name: 'budgets',
      purgeTenant: async (id) => {
        budgets.purgeTenant(id);
      },
    });
  if (provenance !== undefined)
    deletion.add({ name: 'provenance', purgeTenant: (id) => provenance.purgeTenant(id) });
  return deletion;
}
