import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import {
  type Actuator,
  type AutoscaleDecision,
  Autoscaler,
  type MetricSource,
  NodeMetricSource,
  PrometheusMetricSource,
} from '../autoscale/index.ts';
import type { Bus } from '../bus/index.ts';
import type { ServerConfig } from '../config/index.ts';
import { withoutTenant } from '../context/index.ts';
import type { Runtime } from '../core/index.ts';
import { AgentfleetError } from '../errors/index.ts';
import { type AgentGroups, groupActuator, poolActuator } from '../groups/index.ts';
import type { ModelRegistry } from '../models/index.ts';
import type { RunStore } from '../runs/index.ts';
import { NodeFigures } from './node-figures.ts';

/** What the node's autoscaler reads and resizes. */
export interface OpenAutoscalerOptions {
  runtime: Runtime;
  groups: AgentGroups;
  /** For the node's figures: model calls, and runs awaiting approval (of `owner`). */
  models: ModelRegistry;
  runs: RunStore;
  owner: string;
  bus: Bus;
  logger: Logger;
}

/** The bus topic every autoscaling decision is published on. */
export const AUTOSCALER_TOPIC = 'agentfleet.autoscaler';

/**
 * The desired size of a `kubernetes` actuator: nothing here changes; the number is exported on
 * `/metrics` (`agentfleet_autoscaler_desired_replicas`) for KEDA or the HPA to act on.
 */
class DesiredReplicas implements Actuator {
  size: number;
  constructor(initial: number) {
    this.size = initial;
  }
  current(): number {
    return this.size;
  }
  async set(size: number): Promise<void> {
    this.size = size;
  }
}

/** An actuator by name: `pool`, `group:<id>` (a node-level group, looked up at each call), `kubernetes[:<name>]` (`workers` is the primary process's). */
function actuatorFor(name: string, min: number, options: OpenAutoscalerOptions): Actuator {
  if (name === 'pool') return poolActuator(options.runtime.pool);
  if (name === 'kubernetes' || name.startsWith('kubernetes:')) return new DesiredReplicas(min);
  if (name.startsWith('group:')) {
    const id = name.slice('group:'.length);
    const group = () => {
      const found = withoutTenant(() => options.groups.get(id));
      if (found === undefined)
        throw new AgentfleetError(
          'GROUP_NOT_FOUND',
          `No node-level agent group "${id}" (open it with POST /v1/groups as the admin).`,
        );
      return groupActuator(found);
    };
    return { current: () => group().current(), set: (n, signal) => group().set(n, signal) };
  }
  throw new AgentfleetError(
    'AUTOSCALE_POLICY_INVALID',
    `Unknown actuator "${name}": use pool, group:<id>, kubernetes[:<name>] or workers.`,
  );
}

/**
 * The node's autoscaler, when the config has policies: the node's figures (runtime, pool,
 * mailboxes, event loop, CPU, model calls, tokens/s, runs awaiting approval) and, with
 * `autoscalePrometheusUrl`, Prometheus as sources; every decision a log line, a bus event
 * (`agentfleet.autoscaler`) and counts and gauges on `/metrics`. Undefined without policies.
 * @throws AutoscaleError `AUTOSCALE_POLICY_INVALID` for an unknown actuator or source
 */
export function openAutoscaler(
  config: ServerConfig,
  options: OpenAutoscalerOptions,
): { autoscaler: Autoscaler; decisions: Map<string, number>; close: () => Promise<void> } | undefined {
  // `workers` policies are the primary process's (`agentfleet serve`), not a node's.
  const policies = (config.autoscalePolicies ?? []).filter((p) => p.actuator !== 'workers');
  if (policies.length === 0) return undefined;
  const { logger, bus } = options;
  // Checked before anything is opened, so a bad policy leaves nothing behind.
  const configured = config.autoscalePrometheusUrl === undefined ? ['node'] : ['node', 'prometheus'];
  for (const policy of policies)
    if (!configured.includes(policy.source))
      throw new AgentfleetError(
        'AUTOSCALE_POLICY_INVALID',
        `Policy ${policy.name}: source "${policy.source}" is not configured${policy.source === 'prometheus' ? ' (set autoscale.prometheusUrl)' : ''}.`,
      );
  const actuators: Record<string, Actuator> = {};
  for (const policy of policies)
    actuators[policy.actuator] ??= actuatorFor(policy.actuator, policy.min, options);
  // Listens to every model call: made only for a node that scales.
  const figures = new NodeFigures({ models: options.models, runs: options.runs, owner: options.owner });
  const sources: Record<string, MetricSource> = {
    node: new NodeMetricSource({
      runtime: options.runtime,
      extra: {
        'models.inFlight': () => figures.modelCalls().inFlight,
        'models.waiting': () => figures.modelCalls().waiting,
        'tokens.perSecond': () => figures.tokensPerSecond(),
        'runs.awaitingApproval': () => figures.runsAwaitingApproval(),
      },
    }),
  };
  if (config.autoscalePrometheusUrl !== undefined)
    sources.prometheus = new PrometheusMetricSource({ url: config.autoscalePrometheusUrl });
  const decisions = new Map<string, number>();
  const autoscaler = new Autoscaler({
    policies,
    sources,
    actuators,
    tickMs: config.autoscaleTickMs,
    dryRun: config.autoscaleDryRun,
    onDecision: (decision: AutoscaleDecision) => {
      const key = `${decision.policy}\0${decision.kind}`;
      decisions.set(key, (decisions.get(key) ?? 0) + 1);
      const fields = {
        policy: decision.policy,
        actuator: decision.actuator,
        kind: decision.kind,
        state: decision.state,
        from: decision.from,
        to: decision.to,
        desired: decision.desired,
        rule: decision.rule,
        reason: decision.reason,
        inputs: decision.inputs,
      };
      (decision.kind === 'scale' ? logger.info : logger.debug).call(logger, fields, 'autoscaler decision');
      withoutTenant(() =>
        bus.publish(AUTOSCALER_TOPIC, { type: 'autoscaler.decision', ...fields, at: decision.at }),
      ).catch((error: unknown) => logger.debug({ err: error }, 'an autoscaler event could not be published'));
    },
  });
  withoutTenant(() => autoscaler.start());
  return {
    autoscaler,
    decisions,
    close: async () => {
      await autoscaler.close();
      await Promise.all(Object.values(sources).map((s) => s.close()));
      await figures.close();
    },
  };
}

/** The autoscaler on `/metrics`: decisions by policy and kind, each policy's current and desired size. */
export async function registerAutoscalerMetrics(
  registry: Registry,
  autoscaler: Autoscaler,
  decisions: ReadonlyMap<string, number>,
): Promise<void> {
  const { Counter, Gauge } = await import('prom-client');
  new Counter({
    name: 'agentfleet_autoscaler_decisions_total',
    help: 'Autoscaler decisions by policy and kind (scale, dry-run, hold).',
    labelNames: ['policy', 'kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [key, n] of decisions) {
        const [policy, kind] = key.split('\0') as [string, string];
        this.inc({ policy, kind }, n);
      }
    },
  });
  const gauge = (
    name: string,
    help: string,
    read: (s: ReturnType<Autoscaler['status']>[number]) => number | undefined,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ['policy'],
      registers: [registry],
      collect() {
        this.reset();
        for (const status of autoscaler.status()) {
          const value = read(status);
          if (value !== undefined) this.set({ policy: status.policy }, value);
        }
      },
    });
  gauge(
    'agentfleet_autoscaler_current_replicas',
    'Size of each policy’s actuator at its last evaluation.',
    (s) => s.current,
  );
  gauge(
    'agentfleet_autoscaler_desired_replicas',
    'Size each policy wants now (after stabilisation): what KEDA or the HPA acts on for a kubernetes actuator.',
    (s) => s.desired,
  );
}
