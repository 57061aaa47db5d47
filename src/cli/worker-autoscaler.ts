import type { Logger } from 'pino';
import { type AutoscalePolicy, Autoscaler, PrometheusMetricSource } from '../autoscale/index.ts';
import type { ServerConfig } from '../config/index.ts';
import { AgentfleetError } from '../errors/index.ts';
import type { Supervisor } from './supervisor.ts';

/** The policies the primary process runs: those whose actuator is `workers`. */
export function workerPolicies(config: ServerConfig): AutoscalePolicy[] {
  return (config.autoscalePolicies ?? []).filter((p) => p.actuator === 'workers');
}

/**
 * Checks the `workers` policies before anything starts; returns the Prometheus URL they read.
 * @throws AgentfleetError `AUTOSCALE_POLICY_INVALID` for one not on Prometheus, or without `autoscale.prometheusUrl`
 */
export function checkWorkerPolicies(config: ServerConfig): string {
  const policies = workerPolicies(config);
  const url = config.autoscalePrometheusUrl;
  const bad = policies.find((p) => p.source !== 'prometheus');
  if (policies.length > 0 && (bad !== undefined || url === undefined))
    throw new AgentfleetError(
      'AUTOSCALE_POLICY_INVALID',
      `Policy ${(bad ?? policies[0])!.name}: the workers actuator scales from the fleet's figures in Prometheus: set source: prometheus and autoscale.prometheusUrl.`,
    );
  return url ?? '';
}

/**
 * The primary's autoscaler of `agentfleet serve`'s worker processes: its `workers` policies,
 * over Prometheus (the primary serves nothing, so the fleet's figures are Prometheus's), the
 * supervisor as actuator. Undefined without such policies. Decisions are log lines.
 * @throws AgentfleetError `AUTOSCALE_POLICY_INVALID` for a `workers` policy not on Prometheus,
 * or without `autoscale.prometheusUrl`
 */
export function openWorkerAutoscaler(
  config: ServerConfig,
  supervisor: Pick<Supervisor, 'setWorkers' | 'info'>,
  logger: Logger,
): Autoscaler | undefined {
  const policies = workerPolicies(config);
  if (policies.length === 0) return undefined;
  const url = checkWorkerPolicies(config);
  const autoscaler = new Autoscaler({
    policies,
    sources: { prometheus: new PrometheusMetricSource({ url }) },
    actuators: {
      workers: {
        current: () => supervisor.info().workers,
        set: async (n) => supervisor.setWorkers(n),
      },
    },
    tickMs: config.autoscaleTickMs,
    dryRun: config.autoscaleDryRun,
    onDecision: (d) =>
      (d.kind === 'scale' ? logger.info : logger.debug).call(
        logger,
        {
          policy: d.policy,
          kind: d.kind,
          state: d.state,
          from: d.from,
          to: d.to,
          rule: d.rule,
          reason: d.reason,
          inputs: d.inputs,
        },
        'autoscaler decision',
      ),
  });
  return autoscaler.start();
}
