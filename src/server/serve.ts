import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { createClient, type RedisClientType } from 'redis';
import { actAgent } from '../agents/index.ts';
import { type Bus, createBus } from '../bus/index.ts';
import type { ServerConfig } from '../config/index.ts';
import { createLogger as createAgentfleetLogger } from '../context/index.ts';
import { createRuntime, type Runtime } from '../core/index.ts';
import { AgentfleetError } from '../errors/index.ts';
import { KnowledgeBase } from '../knowledge/index.ts';
import { createMetrics, type Metrics, setupTracing, type TracingHandle } from '../observability/index.ts';
import { type AgentStateStore, createStateStore, loadStateSyncConfig } from '../state/index.ts';
import {
  Authenticator,
  generateApiKey,
  MemoryTenantRegistry,
  TenantQuotaGate,
  type TenantRegistry,
} from '../tenancy/index.ts';
import { AgentfleetServer } from './http-server.ts';
import { logStartFailure } from './start-failure.ts';
import { superviseWorkers } from './supervisor.ts';

/** A running single-process server and what it composes. */
export interface RunningServer {
  runtime: Runtime;
  server: AgentfleetServer;
  /** Tenants and their key hashes (`config.tenants`). */
  registry: TenantRegistry;
  /** Undefined with `auth: 'none'`. */
  authenticator: Authenticator | undefined;
  quotas: TenantQuotaGate;
  /** The in-memory bus state deltas are published on. */
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
  /** Drains requests, stops every agent and closes the server. */
  shutdown(): Promise<void>;
}

/**
 * Starts one server process with in-memory defaults: a runtime, the built-in act agent,
 * and the HTTP API. Does not install signal handlers (see `serve`).
 */
export async function startServer(
  config: ServerConfig,
  logger: Logger = createLogger(config),
): Promise<RunningServer> {
  // What is opened so far, closed in reverse if a later step fails (so a failed start leaves
  // nothing running that would keep the process alive).
  const opened: Array<() => unknown> = [];
  try {
    return await compose(config, logger, opened);
  } catch (error) {
    for (const close of opened.reverse()) {
      try {
        await close();
      } catch (closeError) {
        logger.debug({ err: closeError }, 'cleanup after a failed start');
      }
    }
    throw error;
  }
}

async function compose(
  config: ServerConfig,
  logger: Logger,
  opened: Array<() => unknown>,
): Promise<RunningServer> {
  const redis = config.redisUrl === undefined ? undefined : await connectRedis(config.redisUrl, logger);
  if (redis !== undefined) opened.push(() => redis.quit());
  const quotas = new TenantQuotaGate({ redis, defaultMaxAgents: config.maxAgentsPerTenant });
  const registry = await openRegistry(config.tenants);
  opened.push(() => registry.close());
  let authenticator: Authenticator | undefined;
  if (config.auth === 'keys') {
    let adminKey = config.adminKey;
    if (adminKey === undefined && config.adminKeySha256 === undefined) {
      adminKey = generatedAdminKey();
      announceAdminKey(adminKey, logger);
    }
    authenticator = new Authenticator({
      registry,
      adminKey,
      adminKeySha256: config.adminKeySha256,
      cacheTtlMs: config.authCacheTtlMs,
      quotas,
    });
  }
  const runtime = createRuntime({
    pool: { capacity: config.poolCapacity, queueLimit: config.poolQueueLimit },
    stopTimeoutMs: config.stopTimeoutMs,
    maxConfigBytes: config.maxConfigBytes,
    admission: quotas,
  });
  opened.push(() => runtime.close());
  runtime.events.on('agentError', (event) =>
    logger.error({ agent_id: event.agentId, err: event.error }, 'agent error'),
  );
  const act = await runtime.spawn(actAgent, { id: 'act' });
  const bus = createBus();
  opened.push(() => bus.close());
  const state = await createStateStore({
    bus,
    config: config.stateConfig === undefined ? undefined : await loadStateSyncConfig(config.stateConfig),
  });
  opened.push(() => state.close());
  const knowledge = await KnowledgeBase.open({
    directory: config.knowledgeDir,
    index: config.knowledgeIndex,
    maxDocumentsPerTenant: config.knowledgeMaxDocumentsPerTenant,
    maxBytesPerTenant: config.knowledgeMaxBytesPerTenant,
  });
  opened.push(() => knowledge.close());
  const tracing = setupTracing();
  opened.push(() => tracing?.shutdown());
  const metrics = createMetrics({ runtime, bus });
  opened.push(() => metrics.close());
  const server = new AgentfleetServer({
    runtime,
    actAgentId: act.agentId,
    publicAct: config.publicAct,
    auth: { authenticator: authenticator ?? 'none', quotas },
    state: { store: state, bus },
    metrics,
    metricsPublic: config.metricsPublic,
    knowledge,
    debug: { runtime, bus },
    bodyLimitBytes: config.bodyLimitBytes,
    requestTimeoutMs: config.requestTimeoutMs,
    logger,
  });
  opened.push(() => server.close({ timeoutMs: 0 }));
  const address = await server.listen(config.port, config.host);
  logger.info({ host: config.host, port: address.port, pid: process.pid }, 'agentfleet listening');
  let shutdown: Promise<void> | undefined;
  return {
    runtime,
    server,
    registry,
    authenticator,
    quotas,
    bus,
    state,
    metrics,
    tracing,
    knowledge,
    port: address.port,
    shutdown() {
      shutdown ??= (async () => {
        await server.close({ timeoutMs: config.shutdownTimeoutMs });
        const result = await runtime.close();
        await state.close();
        await knowledge.close();
        metrics.close();
        await tracing?.shutdown();
        await bus.close();
        await registry.close();
        await redis?.quit();
        logger.info({ stoppedAgents: result.stopped, forced: result.forced }, 'agentfleet stopped');
      })();
      return shutdown;
    },
  };
}

/**
 * Runs the server until SIGTERM or SIGINT, then drains and exits 0. A start that fails is
 * one fatal JSON log line (`code`, `details`, and a `hint` of what to do; no stack for an
 * Agentfleet error) and exit code 1. With `workers > 1` the primary process forks that many
 * workers sharing the port (node:cluster), restarts any that exit with a growing delay (see
 * `superviseWorkers`), and forwards the signal on shutdown.
 */
export async function serve(config: ServerConfig): Promise<void> {
  const logger = createLogger(config);
  if (config.workers > 1 && cluster.isPrimary) {
    runPrimary(config, logger);
    return;
  }
  let running: RunningServer;
  try {
    running = await startServer(config, logger);
  } catch (error) {
    logStartFailure(logger, error);
    process.exit(1);
  }
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'shutting down');
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    running.shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.fatal({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

function runPrimary(config: ServerConfig, logger: Logger): void {
  if (config.auth === 'keys' && config.adminKey === undefined && config.adminKeySha256 === undefined) {
    // One admin key for every worker: they read their config from the environment.
    const adminKey = generatedAdminKey();
    process.env.AGENTFLEET_ADMIN_KEY = adminKey;
    announceAdminKey(adminKey, logger);
  }
  if (config.workers > 1 && config.tenants === 'memory') {
    logger.warn(
      'each worker has its own in-memory tenant registry; use AGENTFLEET_TENANTS=postgres://… to share tenants',
    );
  }
  const supervisor = superviseWorkers(
    {
      workers: config.workers,
      restartBaseMs: config.workerRestartBaseMs,
      restartMaxMs: config.workerRestartMaxMs,
      restartLimit: config.workerRestartLimit,
    },
    logger,
  );
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal, workers: config.workers }, 'shutting down workers');
    supervisor.stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

function createLogger(config: ServerConfig): Logger {
  return createAgentfleetLogger({ level: config.logLevel });
}

/** Opens the tenant registry a config names: in memory, a JSON file, or PostgreSQL (loaded only then). */
async function openRegistry(spec: string): Promise<TenantRegistry> {
  if (spec === 'memory') return new MemoryTenantRegistry();
  if (spec.startsWith('file:')) return MemoryTenantRegistry.open(spec.slice('file:'.length));
  const { PostgresTenantRegistry } = await import('../tenancy/registries/postgres.ts');
  return PostgresTenantRegistry.open({ connectionString: spec });
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

function generatedAdminKey(): string {
  return generateApiKey().key.replace(/^af_/, 'afadmin_');
}

/** Connects the Redis client that shared limits use. @throws AgentfleetError `REDIS_UNAVAILABLE` when unreachable. */
async function connectRedis(url: string, logger: Logger): Promise<RedisClientType> {
  let connected = false;
  const client = createClient({
    url,
    socket: {
      connectTimeout: 5_000,
      // At start, give up after a few tries so a wrong URL fails the start; once up, keep trying.
      reconnectStrategy: (retries: number, cause: Error) =>
        !connected && retries >= 3 ? cause : Math.min(retries * 200, 5_000),
    },
  }) as RedisClientType;
  client.on('error', (error: unknown) => {
    if (connected) logger.warn({ err: error }, 'redis connection error');
  });
  try {
    await client.connect();
    connected = true;
  } catch (error) {
    client.destroy();
    throw new AgentfleetError(
      'REDIS_UNAVAILABLE',
      `Cannot connect to Redis for shared limits: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return client;
}
