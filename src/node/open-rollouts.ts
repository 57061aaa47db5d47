import type { Logger } from 'pino';
import type { Bus } from '../bus/index.ts';
import type { LeaseStore } from '../cluster/index.ts';
import type { ServerConfig } from '../config/index.ts';
import { withoutTenant, withTenant } from '../context/index.ts';
import {
  MemoryRolloutStore,
  type RolloutDecision,
  RolloutManager,
  type RolloutRecord,
  type RolloutStore,
  type RolloutTarget,
} from '../rollout/index.ts';
import { NODE_SCOPE } from './rollout-target.ts';

/** What the node's rollouts need from the rest of the node. */
export interface OpenRolloutsOptions {
  /** This node's id (its stats in the shared store are under it). */
  node: string;
  target: RolloutTarget;
  bus: Bus;
  logger: Logger;
  /** The cluster's leases: one decider per rollout. */
  leases?: LeaseStore | undefined;
  /** The parts' store (nodes of one process), used as it is. */
  store?: RolloutStore | undefined;
  /** Counts of decisions by kind, for `/metrics`. */
  counts: Map<string, number>;
}

/** The bus topic a rollout's decisions are published on: the tenant's (`agent.<tenant>.rollouts`), or the node's. */
export function rolloutTopic(tenant: string): string {
  return tenant === NODE_SCOPE ? 'agentfleet.rollouts' : `agent.${tenant}.rollouts`;
}

/**
 * The node's rollouts: shared through the cluster's `<clusterName>-rollouts` bucket (or the
 * parts' store), else in memory; one decider per rollout by the cluster's leases. Every
 * decision is a log line, a count on `/metrics` and an event on the bus (`rolloutTopic`).
 */
export async function openRollouts(
  config: ServerConfig,
  options: OpenRolloutsOptions,
): Promise<{ manager: RolloutManager; close: () => Promise<void> }> {
  let store = options.store;
  let closeStore = async () => {};
  if (store === undefined && config.cluster !== 'off') {
    const { NatsKvRolloutStore } = await import('../rollout/internal.ts');
    const opened = await NatsKvRolloutStore.open({
      servers: config.cluster.split(','),
      bucket: `${config.clusterName}-rollouts`,
      replicas: config.clusterReplicas,
    });
    store = opened;
    closeStore = () => opened.close();
  } else if (store === undefined) {
    const opened = new MemoryRolloutStore();
    store = opened;
    closeStore = () => opened.close();
  }
  const { logger, bus, counts } = options;
  const onDecision = (record: RolloutRecord, decision: RolloutDecision) => {
    counts.set(decision.decision, (counts.get(decision.decision) ?? 0) + 1);
    const fields = {
      tenant: record.tenant === NODE_SCOPE ? undefined : record.tenant,
      definition: record.definition,
      from: record.from,
      to: record.to,
      decision: decision.decision,
      step: decision.step,
      percent: decision.percent,
      reason: decision.reason,
    };
    (decision.decision === 'rollback' ? logger.warn : logger.info).call(logger, fields, 'rollout decision');
    const event = {
      type: 'rollout.decision',
      status: record.status,
      ...fields,
      figures: decision.figures,
      at: decision.at,
    };
    const publish = () => bus.publish(rolloutTopic(record.tenant), event);
    const sent = record.tenant === NODE_SCOPE ? withoutTenant(publish) : withTenant(record.tenant, publish);
    sent.catch((error: unknown) => logger.debug({ err: error }, 'a rollout event could not be published'));
  };
  let manager: RolloutManager;
  try {
    manager = await RolloutManager.open({
      store,
      node: options.node.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64),
      target: options.target,
      ...(options.leases === undefined ? {} : { leases: options.leases }),
      onDecision,
      onError: (error, what) => logger.warn({ err: error, what }, 'rollout background work failed'),
    });
  } catch (error) {
    await closeStore();
    throw error;
  }
  return {
    manager,
    close: async () => {
      await manager.close();
      await closeStore();
    },
  };
}
