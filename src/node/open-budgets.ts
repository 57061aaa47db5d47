import type { Logger } from 'pino';
import { TokenBudgetGate } from '../budgets/index.ts';
import type { Bus } from '../bus/index.ts';
import { CrdtBudgetLedger } from '../cluster/index.ts';
import type { ServerConfig } from '../config/index.ts';
import type { TenantQuotaGate } from '../tenancy/index.ts';

/**
 * The node's budget gate: tenants' budgets from their quotas, prices from `models.prices`, and
 * spending kept in this process or, in a cluster, in CRDT counters every node shares
 * (`<clusterName>-budgets` on the node's bus). Closing the gate closes the ledger.
 */
export async function openBudgets(
  config: ServerConfig,
  quotas: TenantQuotaGate,
  logger: Logger,
  cluster: { bus: Bus; node: string } | undefined,
): Promise<TokenBudgetGate> {
  const ledger =
    cluster === undefined
      ? undefined
      : await CrdtBudgetLedger.open({
          bus: cluster.bus,
          node: cluster.node,
          name: `${config.clusterName}-budgets`,
          onInvalid: (error) =>
            error.code === 'CRDT_FOREIGN' // e.g. a late figure of an ended period
              ? logger.debug({ err: error }, 'a budget counter message was refused')
              : logger.warn({ err: error }, 'a budget counter message was refused'),
        });
  try {
    return new TokenBudgetGate({
      ...(config.models?.prices === undefined ? {} : { prices: config.models.prices }),
      tenantBudget: (tenant) => quotas.quotasOf(tenant).budget,
      ...(ledger === undefined ? {} : { ledger }),
    });
  } catch (error) {
    await ledger?.close();
    throw error;
  }
}
