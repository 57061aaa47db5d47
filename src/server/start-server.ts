import type { Logger } from 'pino';
import type { Bus } from '../bus/index.ts';
import type { ServerConfig, ServerConfigInput } from '../config/index.ts';
import type { Runtime } from '../core/index.ts';
import type { KnowledgeBase } from '../knowledge/index.ts';
import { type AgentfleetNode, createNode, NODE_SCOPE } from '../node/index.ts';
import type { Metrics, TracingHandle } from '../observability/index.ts';
import { SpecInvalidError } from '../spec/index.ts';
import type { AgentStateStore } from '../state/index.ts';
import type { Authenticator, TenantQuotaGate, TenantRegistry } from '../tenancy/index.ts';
import { AgentfleetServer } from './http-server.ts';
import type { RolloutRoutesOptions } from './routes/rollouts.ts';

/** A listening HTTP server over a node, and what the node composes. */
export interface RunningServer {
  node: AgentfleetNode;
  runtime: Runtime;
  server: AgentfleetServer;
  /** Tenants and their key hashes (`config.tenants`). */
  registry: TenantRegistry;
  /** Undefined with `auth: 'none'`. */
  authenticator: Authenticator | undefined;
  quotas: TenantQuotaGate;
  /** The node's bus (state deltas are published on it). */
  bus: Bus;
  /** Per-agent state with context-aware deltas and TTLs. */
  state: AgentStateStore;
  /** Prometheus metrics served on `/metrics`. */
  metrics: Metrics;
  /** Documents for retrieval, per tenant (`/v1/knowledge/*`). */
  knowledge: KnowledgeBase;
  /** The tracer provider, when `OTEL_*` configured an exporter. */
  tracing: TracingHandle | undefined;
  port: number;
  /** Drains requests and closes the server, then the node when the server created it. */
  shutdown(): Promise<void>;
}

/**
 * Serves the HTTP API over a node: `startServer(node, { logger })` listens on
 * `node.config.port`/`host` and leaves the node open on shutdown; `startServer(config, logger)`
 * creates a node from the config first and closes it on shutdown. A generated admin key is
 * shown once on stderr. Does not install signal handlers (see `serve` in src/cli).
 */
export async function startServer(
  source: AgentfleetNode | ServerConfigInput | ServerConfig,
  logger?: Logger | { logger?: Logger },
): Promise<RunningServer> {
  const log = logger === undefined || 'info' in logger ? (logger as Logger | undefined) : logger.logger;
  const owned = !isNode(source);
  const node = isNode(source) ? source : await createNode(source, { logger: log });
  const config = node.config;
  const out = log ?? node.logger;
  try {
    if (node.tenancy.generatedAdminKey !== undefined) announceAdminKey(node.tenancy.generatedAdminKey, out);
    const server = new AgentfleetServer({
      runtime: node.runtime,
      agents: node.agents,
      cluster: node.cluster,
      actAgentId: node.actAgentId,
      publicAct: config.publicAct,
      auth: { authenticator: node.tenancy.authenticator ?? 'none', quotas: node.tenancy.quotas },
      tenantDeletion: node.tenancy.deletion,
      state: { store: node.state, bus: node.bus },
      metrics: node.metrics,
      metricsPublic: config.metricsPublic,
      knowledge: node.knowledge,
      definitions: node.definitions,
      rollouts: rolloutRoutes(node),
      groups: node.groups,
      autoscaler: node.autoscaler ?? null,
      runs: node.runs,
      ...(node.provenance === undefined ? {} : { provenance: node.provenance.store }),
      debug: { runtime: node.runtime, bus: node.bus },
      budgets: node.budgets,
      bodyLimitBytes: config.bodyLimitBytes,
      requestTimeoutMs: config.requestTimeoutMs,
      logger: out,
    });
    let address: { port: number };
    try {
      address = await server.listen(config.port, config.host);
    } catch (error) {
      await server.close({ timeoutMs: 0 });
      throw error;
    }
    out.info({ host: config.host, port: address.port, pid: process.pid }, 'agentfleet listening');
    let shutdown: Promise<void> | undefined;
    return {
      node,
      runtime: node.runtime,
      server,
      registry: node.tenancy.registry,
      authenticator: node.tenancy.authenticator,
      quotas: node.tenancy.quotas,
      bus: node.bus,
      state: node.state,
      metrics: node.metrics,
      tracing: node.tracing,
      knowledge: node.knowledge,
      port: address.port,
      shutdown() {
        shutdown ??= (async () => {
          await server.close({ timeoutMs: config.shutdownTimeoutMs });
          if (owned) await node.close();
          out.info('agentfleet stopped');
        })();
        return shutdown;
      },
    };
  } catch (error) {
    if (owned) await node.close();
    throw error;
  }
}

/** The rollout API over a node: a tenant's definitions, or the agents folder's for the admin. */
function rolloutRoutes(node: AgentfleetNode): RolloutRoutesOptions {
  return {
    manager: node.rollouts,
    scopeOf: (tenant) => tenant ?? NODE_SCOPE,
    async stage(scope, name, text, format) {
      if (scope !== NODE_SCOPE)
        return {
          version: (await node.definitions.put(scope, name, text, { format, current: false })).version
            .version,
        };
      if (node.agentsFolder === undefined)
        throw new SpecInvalidError([
          { source: name, path: '(root)', message: 'the node has no agents folder' },
        ]);
      return { version: (await node.agentsFolder.stage(name, text, format)).version };
    },
    resolve: (scope, name, ref) =>
      scope === NODE_SCOPE
        ? node.agentsFolder?.versions(name)?.find(ref)?.version
        : node.definitions.findVersion(scope, name, ref)?.version,
    sync: () => node.definitions.sync(),
  };
}

function isNode(source: object): source is AgentfleetNode {
  return 'runtime' in source && 'tenancy' in source;
}

/**
 * Shows a generated admin key to the operator on stderr, once. It never enters the JSON log,
 * where keys are redacted and which may be shipped elsewhere.
 */
function announceAdminKey(adminKey: string, logger: Logger): void {
  logger.warn('no AGENTFLEET_ADMIN_KEY set: generated an admin key for this run, printed on stderr');
  process.stderr.write(
    `\nagentfleet admin key for this run (set AGENTFLEET_ADMIN_KEY to choose one): ${adminKey}\n\n`,
  );
}
