import type { Logger } from 'pino';
import type { RedisClientType } from 'redis';
import { actAgent } from '../agents/index.ts';
import type { Autoscaler } from '../autoscale/index.ts';
import type { TokenBudgetGate } from '../budgets/index.ts';
import type { Bus } from '../bus/index.ts';
import {
  type AgentDirectory,
  type AgentFleet,
  type ClusterFleet,
  ClusterUsage,
  type LeaseStore,
  LocalFleet,
  NodeAgentHost,
} from '../cluster/index.ts';
import { type ServerConfig, type ServerConfigInput, validateConfig } from '../config/index.ts';
import { createLogger, withoutTenant } from '../context/index.ts';
import { type AgentDefinition, createRuntime, type Runtime, type SendOptions } from '../core/index.ts';
import { CrdtReplicator } from '../crdt/index.ts';
import { AbortedError, AgentfleetError } from '../errors/index.ts';
import { BusFrontDoor, RunsDoor } from '../front-door/index.ts';
import { AgentGroups } from '../groups/index.ts';
import { KnowledgeBase } from '../knowledge/index.ts';
import type { ModelRegistry, ModelsReloadSummary } from '../models/index.ts';
import type { Metrics, TracingHandle } from '../observability/index.ts';
import type { ProvenanceRecorder } from '../provenance/index.ts';
import type { RolloutManager, RolloutStore } from '../rollout/index.ts';
import { RunService } from '../runs/index.ts';
import { AgentsFolder, type DefinitionStore, TenantDefinitions } from '../spec/index.ts';
import { type AgentStateStore, createStateStore, loadStateSyncConfig } from '../state/index.ts';
import {
  Authenticator,
  generateApiKey,
  MemoryTenantRegistry,
  type TenantDeletion,
  type TenantDeletionResult,
  TenantQuotaGate,
  type TenantRegistry,
} from '../tenancy/index.ts';
import { registerCountsByLabel } from './model-ops-metrics.ts';
import { openAutoscaler, registerAutoscalerMetrics } from './open-autoscaler.ts';
import { openBudgets } from './open-budgets.ts';
import { openBus } from './open-bus.ts';
import { openCluster, replicaId, unfinishedAgents } from './open-cluster.ts';
import { openDefinitionStore } from './open-definitions.ts';
import { openModels } from './open-models.ts';
import { openProvenance, registerProvenanceMetrics } from './open-provenance.ts';
import { openRollouts } from './open-rollouts.ts';
import { openRuns } from './open-runs.ts';
import { NODE_SCOPE, nodeRolloutTarget } from './rollout-target.ts';
import { nodeTenantDeletion } from './tenant-deletion.ts';
import { watchModels } from './watch-models.ts';

/** What `createNode` takes besides the config: what cannot be written in a config file. */
export interface NodeParts {
  /** Agent definitions declared in code, registered on the runtime at start. */
  // biome-ignore lint/suspicious/noExplicitAny: definitions of any input, output, config and state
  definitions?: readonly AgentDefinition<any, any, any, any>[];
  /** Logger for agent errors and the node's own lines. Default: one at `config.logLevel`. */
  logger?: Logger;
  /** Environment the model providers read keys from. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Abandons the start (closing what opened). */
  signal?: AbortSignal;
  /**
   * Joins a cluster through these stores (in place of `config.cluster`'s NATS buckets): for
   * several nodes in one process, e.g. on one `MemoryAgentDirectory`, `MemoryLeaseStore` and
   * `bus`, and one `MemoryDefinitionStore` for tenants' own definitions (without it, each
   * node keeps its own). The node does not close them.
   */
  cluster?: {
    directory: AgentDirectory;
    leases: LeaseStore;
    definitions?: DefinitionStore;
    rollouts?: RolloutStore;
  };
  /** The bus to use in place of `config.bus` (not closed by the node). */
  bus?: Bus;
  /**
   * The budget gate every spec agent's model calls go through, in place of the node's (a
   * `TokenBudgetGate` over your own ledger, say); not closed by the node.
   */
  budgets?: TokenBudgetGate;
}

/** Tenants: the registry, keys, quotas and how a tenant is deleted. */
export interface NodeTenancy {
  registry: TenantRegistry;
  /** Checks API keys; undefined with `auth: 'none'`. */
  authenticator: Authenticator | undefined;
  quotas: TenantQuotaGate;
  /** Removes everything a tenant owns (keys, agents, state, quota windows, knowledge), then the tenant. */
  deletion: TenantDeletion;
  /** The admin key generated for this run when the config set none (with `auth: 'keys'`). */
  generatedAdminKey: string | undefined;
}

/** A running node: the capabilities composed, started in order and closed in reverse. */
export interface AgentfleetNode extends AsyncDisposable {
  readonly config: ServerConfig;
  readonly runtime: Runtime;
  readonly bus: Bus;
  readonly state: AgentStateStore;
  readonly knowledge: KnowledgeBase;
  readonly tenancy: NodeTenancy;
  /** Model providers by name (`provider/model`); `models.version` is the config served. */
  readonly models: ModelRegistry;
  /**
   * Serves a new models config without a restart: re-reads `modelsFile` (also watched), or
   * takes `config` (the shape of `models`); prices too. Calls in flight finish on the old clients.
   * @throws the config's typed error, and the old config keeps serving
   */
  reloadModels(config?: unknown): Promise<ModelsReloadSummary>;
  /** Tenants' own agent definitions, visible only to their tenant and deleted with it. */
  readonly definitions: TenantDefinitions;
  /** The agents folder's definitions, versioned and hot-reloaded (`agentsDir`, `agentsWatch`); undefined without a folder. */
  readonly agentsFolder: AgentsFolder | undefined;
  /** The autoscaler, when the config has policies (`autoscale.policies`). */
  readonly autoscaler: Autoscaler | undefined;
  /** Agent groups: N replicas of a definition behind one address, scaled without losing a message (this node's). */
  readonly groups: AgentGroups;
  /** Canary rollouts of definitions from one version to another (shared by the cluster). */
  readonly rollouts: RolloutManager;
  /** Durable runs: read, stream, cancel, approvals; resumes this node's runs after a restart. */
  readonly runs: RunService;
  /**
   * Token and cost budgets of tenants (their quotas' `budget`) and agents (their spec's), checked
   * before every model call of spec agents; spending per tenant (`spendOf`). Shared by a
   * cluster's nodes. Pass it as `llm({ budgets: node.budgets })` to agents defined in code.
   */
  readonly budgets: TokenBudgetGate;
  /** Provenance of LLM decisions (`config.provenance`): its recorder and `store`; undefined when off. */
  readonly provenance: ProvenanceRecorder | undefined;
  readonly metrics: Metrics;
  /**
   * The agents as every front door reaches them: this node's runtime, or in a cluster wherever
   * each agent is active (activating it on demand). HTTP, the bus and the OpenAI endpoint use it.
   */
  readonly agents: AgentFleet;
  /** The cluster membership and routing, when the node is in a cluster. */
  readonly cluster: ClusterFleet | undefined;
  /**
   * Users' own shared state across the cluster: named CRDTs (counters, registers, sets, maps)
   * that every node of the cluster reads and writes, merged without coordination
   * (`node.shared.crdt('visits', 'g-counter').update((c) => c.increment())`). One system-scope
   * replicator named `<clusterName>-shared` on the node's bus, opened in cluster mode and
   * closed with the node; undefined when the node is not in a cluster. For a tenant's own
   * replicator, open a `CrdtReplicator` inside `withTenant`.
   */
  readonly shared: CrdtReplicator | undefined;
  /** Serves every agent on `agent.<tenant>.<id>.inbox`; undefined with `busFrontDoor: false`. */
  readonly frontDoor: BusFrontDoor | undefined;
  /** The tracer provider, when `OTEL_*` configured an exporter. */
  readonly tracing: TracingHandle | undefined;
  /** Id of the built-in `act` agent (the seed's `/act`). */
  readonly actAgentId: string;
  readonly logger: Logger;
  /** Sends to an agent by id, as `runtime.send`. */
  send<O = unknown>(agentId: string, input: unknown, options?: SendOptions): Promise<O>;
  /** Deletes a tenant and all it owns (see `NodeTenancy.deletion`). */
  deleteTenant(tenantId: string, options?: { signal?: AbortSignal }): Promise<TenantDeletionResult>;
  /** Stops every agent, then closes what the node opened in the reverse order. Idempotent. */
  close(): Promise<void>;
}

/**
 * The library's composition root. Starts, in order: tracing, Redis (when `redisUrl`), the
 * tenant registry, quotas and keys, the models, the bus (memory, NATS or MQTT), state,
 * knowledge, the runtime (with `parts.definitions`, the specs of `config.agentsDir` and the
 * `act` agent), metrics and the bus front door.
 * A failed start closes what had opened, in reverse, and rethrows. All defaults are in memory:
 * `await createNode()` needs no other process.
 * @throws ConfigInvalidError for a bad config; the failing capability's error otherwise.
 */
export async function createNode(
  config: ServerConfigInput | ServerConfig = {},
  parts: NodeParts = {},
): Promise<AgentfleetNode> {
  const resolved = validateConfig(config as Record<string, unknown>);
  const logger = parts.logger ?? createLogger({ level: resolved.logLevel });
  const opened: Array<() => unknown> = [];
  try {
    return await compose(resolved, parts, logger, opened);
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
  parts: NodeParts,
  logger: Logger,
  opened: Array<() => unknown>,
): Promise<AgentfleetNode> {
  const { signal } = parts;
  const step = () => {
    if (signal?.aborted) throw new AbortedError();
  };
  step();
  // Exporters, prom-client and Redis load only when a node starts, so that importing the
  // package root (which exports createNode) loads none of them (src/index.test.ts).
  const { createMetrics, setupTracing } = await import('../observability/index.ts');
  const tracing = setupTracing();
  opened.push(() => tracing?.shutdown());
  const redis = config.redisUrl === undefined ? undefined : await connectRedis(config.redisUrl, logger);
  if (redis !== undefined) opened.push(() => redis.quit());
  step();
  const registry = await openRegistry(config.tenants);
  opened.push(() => registry.close());
  step();
  const quotas = new TenantQuotaGate({ redis, defaultMaxAgents: config.maxAgentsPerTenant });
  let authenticator: Authenticator | undefined;
  let generatedAdminKey: string | undefined;
  if (config.auth === 'keys') {
    let adminKey = config.adminKey;
    if (adminKey === undefined && config.adminKeySha256 === undefined) {
      adminKey = generateApiKey().key.replace(/^af_/, 'afadmin_');
      generatedAdminKey = adminKey;
    }
    authenticator = new Authenticator({
      registry,
      adminKey,
      adminKeySha256: config.adminKeySha256,
      cacheTtlMs: config.authCacheTtlMs,
      quotas,
    });
  }
  const models = openModels(config, parts.env ?? process.env);
  opened.push(() => models.close());
  const bus = parts.bus ?? (await openBus(config, signal));
  if (parts.bus === undefined) opened.push(() => bus.close());
  step();
  // An agent's state follows its definition's rules (a spec's `state` section), if it has them;
  // the runtime is made below, and the store asks only once states are written.
  let agents: Runtime | undefined;
  // Rollouts open once the cluster has; the versions report to them from the first message.
  let rollouts: RolloutManager | undefined;
  const state = await createStateStore({
    bus,
    config: config.stateConfig === undefined ? undefined : await loadStateSyncConfig(config.stateConfig),
    configFor: (agentId) => agents?.get(agentId)?.stateRules,
  });
  opened.push(() => state.close());
  const knowledge = await KnowledgeBase.open({
    directory: config.knowledgeDir,
    index: config.knowledgeIndex,
    maxDocumentsPerTenant: config.knowledgeMaxDocumentsPerTenant,
    maxBytesPerTenant: config.knowledgeMaxBytesPerTenant,
  });
  opened.push(() => knowledge.close());
  step();
  const runStore = await openRuns(config);
  opened.push(() => runStore.store.close());
  step();
  const clustered = parts.cluster !== undefined || config.cluster !== 'off';
  const budgets =
    parts.budgets ??
    (await openBudgets(
      config,
      quotas,
      logger,
      clustered ? { bus, node: replicaId(runStore.owner) } : undefined,
    ));
  if (parts.budgets === undefined) opened.push(() => budgets.close());
  step();
  const runtime = createRuntime({
    pool: { capacity: config.poolCapacity, queueLimit: config.poolQueueLimit },
    stopTimeoutMs: config.stopTimeoutMs,
    maxConfigBytes: config.maxConfigBytes,
    admission: quotas,
  });
  opened.push(() => runtime.close());
  agents = runtime;
  // Agent groups (N replicas behind one address) close, draining, before the runtime stops.
  const groups = new AgentGroups(runtime);
  opened.push(() => groups.close());
  let cluster: ClusterFleet | undefined;
  let closeClusterStores: (() => Promise<void>) | undefined;
  let clusterLeases: LeaseStore | undefined;
  let shared: CrdtReplicator | undefined;
  let closeUsage: (() => Promise<void>) | undefined;
  const runs = new RunService({
    store: runStore.store,
    owner: runStore.owner,
    runTtlMs: config.runTtlMs,
    host: {
      async send(target, input, options) {
        // In a cluster the run goes where its agent is active: activated here, or run by its owner.
        if (cluster !== undefined && options.resume && !cluster.isActiveHere(target.agentId)) {
          await cluster.call(target.agentId, { op: 'activate' });
          if (!cluster.isActiveHere(target.agentId))
            return cluster.call(target.agentId, { op: 'resume-run', runId: options.runId });
        }
        // After a restart the agent may be gone: make it again from the run's definition.
        const agent =
          runtime.get(target.agentId) ??
          (target.definition === undefined
            ? runtime.agent(target.agentId)
            : await runtime.spawn(target.definition, { id: target.agentId, config: target.config }));
        return agent.send(input, {
          run: { id: options.runId, resume: options.resume, store: options.store, owner: options.owner },
          signal: options.signal,
          onEvent: options.onEvent,
        });
      },
      report: (error, run) =>
        logger.warn({ err: error, run_id: run.id, agent_id: run.agentId }, 'a run could not resume'),
    },
  });
  opened.push(() => runs.close());
  const durable = { store: runs.store, owner: runs.owner, approvalTtlMs: config.approvalTtlMs };
  const provenance = await openProvenance(config, logger);
  if (provenance !== undefined) opened.push(() => closeProvenance(provenance));
  const recorded = provenance === undefined ? {} : { provenance };
  runtime.events.on('agentError', (event) =>
    logger.error({ agent_id: event.agentId, err: event.error }, 'agent error'),
  );
  for (const definition of parts.definitions ?? []) runtime.register(definition);
  // Declarative agents: the folder loads all-or-nothing (a bad spec fails the start with
  // SPEC_INVALID naming every bad path), then each compiled definition is registered.
  // Afterwards each file is versioned and hot-reloaded on its own (`agentsWatch`).
  const reloads = new Map<string, number>();
  const agentsFolder =
    config.agentsDir === undefined
      ? undefined
      : await AgentsFolder.open({
          dir: config.agentsDir,
          target: runtime,
          deps: { models, knowledge, messaging: runtime, runs: durable, budgets, ...recorded },
          watch: config.agentsWatch,
          signal,
          onResult: (name, version, ms, ok) => rollouts?.observe(NODE_SCOPE, name, version, ms, ok),
          onChange: (change) => {
            reloads.set(change.outcome, (reloads.get(change.outcome) ?? 0) + 1);
            const fields = { file: change.file, definition: change.name, version: change.version };
            if (change.outcome === 'invalid')
              logger.warn(
                { ...fields, err: change.error },
                'an agent spec was refused; the running version serves on',
              );
            else if (change.outcome === 'removed')
              logger.warn(fields, 'an agent spec file was removed; its definition serves on until restart');
            else logger.info(fields, `agent spec ${change.outcome}`);
          },
        });
  if (agentsFolder !== undefined) opened.push(() => agentsFolder.close());
  // The seed's `/act` agent: the agents folder's `act` when it has one, else the built-in.
  const actDefinition = runtime.definitions().find((d) => d.name === 'act') ?? actAgent;
  const act = await runtime.spawn(actDefinition, { id: 'act' });
  const metrics = createMetrics({ runtime, bus });
  opened.push(() => metrics.close());
  if (provenance !== undefined) await registerProvenanceMetrics(metrics.registry, 'agentfleet_', provenance);
  await registerCountsByLabel(
    metrics.registry,
    'agentfleet_definition_reloads_total',
    'Agent spec files reloaded, by outcome (added, updated, invalid, removed).',
    'outcome',
    reloads,
  );
  const modelsReloads = await watchModels({
    config,
    models,
    budgets: parts.budgets === undefined ? budgets : undefined,
    env: parts.env ?? process.env,
    logger,
    metrics: metrics.registry,
  });
  opened.push(() => modelsReloads.close());
  // Tenants' own definitions (`PUT /v1/definitions/:name`), compiled like the folder's specs;
  // in a cluster kept in its store, every node registering what it holds (before it joins).
  const definitionStore = clustered ? await openDefinitionStore(config, parts.cluster) : undefined;
  if (definitionStore !== undefined) opened.push(() => definitionStore.close());
  const definitions = new TenantDefinitions({
    target: runtime,
    deps: { models, knowledge, messaging: runtime, runs: durable, budgets, ...recorded },
    ...(definitionStore === undefined ? {} : { store: definitionStore.store }),
    onInvalid: (error, where) =>
      logger.warn({ err: error, ...where }, 'a stored tenant definition was refused and skipped'),
    onResult: (tenant, name, version, ms, ok) => rollouts?.observe(tenant, name, version, ms, ok),
  });
  opened.push(() => definitions.close());
  await definitions.start({ signal });
  step();
  if (clustered) {
    const replica = replicaId(runStore.owner);
    // Tenants' agent and message counts over every node; the agent quota reads them.
    const usage = await ClusterUsage.open({
      bus,
      node: replica,
      name: `${config.clusterName}-usage`,
      admission: quotas,
      onInvalid: (error) =>
        error.code === 'CRDT_FOREIGN' // e.g. a late figure of a tenant just deleted
          ? logger.debug({ err: error }, 'a usage counter message was refused')
          : logger.warn({ err: error }, 'a usage counter message was refused'),
    });
    closeUsage = () => usage.close();
    opened.push(() => usage.close());
    const joined = await openCluster(config, parts, {
      usage,
      forgetTenant: (tenant) => budgets.purgeTenant(tenant),
      nodeId: runStore.owner,
      bus,
      host: new NodeAgentHost({ runtime, state, runs, clustered: true, definitions }),
      unfinishedRuns: (owner) => unfinishedAgents(runStore.store, owner),
      report: (error, what) => logger.warn({ err: error, what }, 'cluster background work failed'),
    });
    cluster = joined.fleet;
    clusterLeases = joined.leases;
    closeClusterStores = joined.close;
    opened.push(() => joined.close());
    opened.push(() => joined.fleet.close());
    const replicator = await withoutTenant(() =>
      CrdtReplicator.open({
        bus,
        node: replica,
        name: `${config.clusterName}-shared`,
        onInvalid: (error) => logger.debug({ err: error }, 'a shared CRDT message was refused'),
      }),
    );
    shared = replicator;
    opened.push(() => replicator.close());
  }
  const rolloutCounts = new Map<string, number>();
  const openedRollouts = await openRollouts(config, {
    node: runStore.owner,
    target: nodeRolloutTarget(definitions, agentsFolder),
    bus,
    logger,
    leases: clusterLeases,
    store: parts.cluster?.rollouts,
    counts: rolloutCounts,
  });
  opened.push(() => openedRollouts.close());
  rollouts = openedRollouts.manager;
  await registerCountsByLabel(
    metrics.registry,
    'agentfleet_rollout_decisions_total',
    'Rollout decisions made on this node, by kind (start, advance, promote, rollback, pause, resume, abort).',
    'decision',
    rolloutCounts,
  );
  // Autoscaling policies (config `autoscale.policies`) over the node's figures and Prometheus.
  const scaling = openAutoscaler(config, {
    runtime,
    groups,
    models,
    runs: runStore.store,
    owner: runStore.owner,
    bus,
    logger,
  });
  if (scaling !== undefined) {
    opened.push(() => scaling.close());
    await registerAutoscalerMetrics(metrics.registry, scaling.autoscaler, scaling.decisions);
  }
  const agentFleet: AgentFleet = cluster ?? new LocalFleet(runtime, { state, runs });
  const frontDoor = config.busFrontDoor
    ? await BusFrontDoor.open(
        agentFleet,
        bus,
        config.busFrontDoorQueue === undefined ? {} : { queue: config.busFrontDoorQueue },
      )
    : undefined;
  if (frontDoor !== undefined) opened.push(() => frontDoor.close());
  // Runs and approvals on `agent.<tenant>.runs`, beside the agents' inboxes.
  const runsDoor = config.busFrontDoor ? await RunsDoor.open(runs, bus) : undefined;
  if (runsDoor !== undefined) opened.push(() => runsDoor.close());
  const deletion = nodeTenantDeletion({
    ...(cluster === undefined ? {} : { fleet: cluster }),
    registry,
    runtime,
    authenticator,
    quotas,
    state,
    knowledge,
    definitions,
    runs: runs.store,
    budgets,
    rollouts: openedRollouts.manager,
    groups,
    ...(provenance === undefined ? {} : { provenance: provenance.store }),
  });
  // Every definition is registered: resume what this node was running when it stopped.
  const resumed = await runs.start();
  if (resumed.resuming > 0) logger.info({ runs: resumed.resuming }, 'resuming unfinished runs');
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await frontDoor?.close();
      await runsDoor?.close();
      await scaling?.close();
      await openedRollouts.close();
      // Hands this node's agents over (drained, their state in their records) before the runtime stops.
      await cluster?.close();
      await closeUsage?.();
      await shared?.close();
      await groups.close();
      // In-flight runs drain within the stop deadline; the rest stay unfinished and resume on the next start.
      const result = await runtime.close();
      if (parts.budgets === undefined) await budgets.close();
      await runs.close();
      await runStore.store.close();
      if (provenance !== undefined) await closeProvenance(provenance);
      await agentsFolder?.close();
      await definitions.close();
      await definitionStore?.close();
      metrics.close();
      modelsReloads.close();
      await knowledge.close();
      await state.close();
      if (parts.bus === undefined) await bus.close();
      await closeClusterStores?.();
      await models.close();
      await registry.close();
      await redis?.quit();
      await tracing?.shutdown();
      logger.debug({ stoppedAgents: result.stopped, forced: result.forced }, 'agentfleet node closed');
    })();
    return closing;
  };
  return {
    config,
    runtime,
    bus,
    state,
    knowledge,
    tenancy: { registry, authenticator, quotas, deletion, generatedAdminKey },
    models,
    definitions,
    agentsFolder,
    rollouts: openedRollouts.manager,
    groups,
    autoscaler: scaling?.autoscaler,
    runs,
    budgets,
    provenance,
    metrics,
    agents: agentFleet,
    cluster,
    shared,
    frontDoor,
    tracing,
    actAgentId: act.agentId,
    logger,
    send: (agentId, input, options) => runtime.send(agentId, input, options),
    deleteTenant: (tenantId, options) => deletion.delete(tenantId, options),
    reloadModels: (models) => modelsReloads.reload(models),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Writes the decisions still queued, then closes the store. */
async function closeProvenance(recorder: ProvenanceRecorder): Promise<void> {
  await recorder.close();
  await recorder.store.close();
}

/** Opens the tenant registry a config names: in memory, a JSON file, or PostgreSQL (loaded only then). */
async function openRegistry(spec: string): Promise<TenantRegistry> {
  if (spec === 'memory') return new MemoryTenantRegistry();
  if (spec.startsWith('file:')) return MemoryTenantRegistry.open(spec.slice('file:'.length));
  const { PostgresTenantRegistry } = await import('../tenancy/internal.ts');
  return PostgresTenantRegistry.open({ connectionString: spec });
}

/** Connects the Redis client that shared limits use. @throws AgentfleetError `REDIS_UNAVAILABLE` when unreachable. */
async function connectRedis(url: string, logger: Logger): Promise<RedisClientType> {
  let connected = false;
  const { createClient } = await import('redis');
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
