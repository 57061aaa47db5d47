import { z } from 'zod';
import { autoscalePoliciesSchema } from '../autoscale/index.ts';
import { modelPricesSchema } from '../budgets/index.ts';
import { AgentfleetError } from '../errors/index.ts';
import type { ConfigErrorCode } from './error-codes.ts';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** A setting given as JSON text (an env variable): its value, or the text itself for the schema to refuse. */
function parseJsonSetting(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
const bool = z.preprocess(
  (v) => (v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : v),
  z.boolean(),
);

/** Everything `agentfleet serve` can be told, with its default. */
export const serverConfigSchema = z.object({
  /** TCP port; 0 picks a free one. Env `PORT`, flag `--port`. Default 8080. */
  port: int(0, 65_535).default(8080),
  /** Interface to listen on. Env `HOST`, flag `--host`. Default `0.0.0.0`. */
  host: z.string().min(1).default('0.0.0.0'),
  /** Processes serving the port (node:cluster). Env `AGENTFLEET_WORKERS`, flag `--workers`. Default 1. */
  workers: int(1, 256).default(1),
  /** Milliseconds the cluster primary waits before restarting a worker that failed quickly; doubles with each quick failure in a row. Env `AGENTFLEET_WORKER_RESTART_BASE_MS`. Default 1,000. */
  workerRestartBaseMs: int(1, 3_600_000).default(1_000),
  /** Largest delay before a worker restart, in ms. Env `AGENTFLEET_WORKER_RESTART_MAX_MS`. Default 30,000. */
  workerRestartMaxMs: int(1, 3_600_000).default(30_000),
  /** Quick worker failures in a row (each within 10 s of its start) after which the primary exits 1. Env `AGENTFLEET_WORKER_RESTART_LIMIT`. Default 5. */
  workerRestartLimit: int(0, 1_000).default(5),
  /** Largest request body accepted, in bytes. Env `AGENTFLEET_BODY_LIMIT_BYTES`. Default 1 MiB. */
  bodyLimitBytes: int(1, 1024 ** 3).default(1024 * 1024),
  /** Milliseconds a request may take before the server answers 408. Env `AGENTFLEET_REQUEST_TIMEOUT_MS`. Default 30 s. */
  requestTimeoutMs: int(1, 3_600_000).default(30_000),
  /** Milliseconds SIGTERM/SIGINT waits for in-flight requests before closing connections. Env `AGENTFLEET_SHUTDOWN_TIMEOUT_MS`. Default 10 s. */
  shutdownTimeoutMs: int(0, 3_600_000).default(10_000),
  /** Agent steps running at once. Env `AGENTFLEET_POOL_CAPACITY`. Default 1024. */
  poolCapacity: int(1, 1_000_000).default(1024),
  /** Agent steps waiting for a slot. Env `AGENTFLEET_POOL_QUEUE`. Default 10,000. */
  poolQueueLimit: int(0, 100_000_000).default(10_000),
  /** Milliseconds an agent's stop waits before forcing. Env `AGENTFLEET_STOP_TIMEOUT_MS`. Default 5 s. */
  stopTimeoutMs: int(0, 3_600_000).default(5_000),
  /** `keys`: every route but the probes needs an API key. `none`: no authentication (only behind your own gateway). Env `AGENTFLEET_AUTH`. Default `keys`. */
  auth: z.enum(['keys', 'none']).default('keys'),
  /** The admin key (16+ characters) for tenant management. Env `AGENTFLEET_ADMIN_KEY`. Default: one is generated and logged at start. */
  adminKey: z.string().min(16).optional(),
  /** Or the admin key's SHA-256 in hex, to keep the plaintext out of the config. Env `AGENTFLEET_ADMIN_KEY_SHA256`. */
  adminKeySha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex characters')
    .optional(),
  /** Where tenants and key hashes live: `memory`, `file:<path>` (JSON), or a `postgres://` URL. Env `AGENTFLEET_TENANTS`. Default `memory`. */
  tenants: z
    .string()
    .regex(/^(memory|file:.+|postgres(ql)?:\/\/.+)$/, 'must be memory, file:<path> or a postgres:// URL')
    .default('memory'),
  /** Milliseconds a looked-up key is trusted before the registry is asked again (a revocation elsewhere takes this long). Env `AGENTFLEET_AUTH_CACHE_MS`. Default 5,000. */
  authCacheTtlMs: int(0, 3_600_000).default(5_000),
  /** Whether the seed's `/act` answers without a key. Env `AGENTFLEET_PUBLIC_ACT`. Default false. */
  publicAct: bool.default(false),
  /** A JSON file with the state-sync config (relevance by context tag, TTL rules, limits). Env `AGENTFLEET_STATE_CONFIG`. Default: the built-in table. */
  stateConfig: z.string().min(1).optional(),
  /** Whether `/metrics` answers without a key (for a Prometheus without bearer credentials). Env `AGENTFLEET_METRICS_PUBLIC`. Default false. */
  metricsPublic: bool.default(false),
  /** Redis for limits a cluster shares (tenants' request windows). Env `AGENTFLEET_REDIS_URL`. Default: none (limits per process). */
  redisUrl: z
    .string()
    .regex(/^rediss?:\/\/.+/, 'must be a redis:// or rediss:// URL')
    .optional(),
  /** Directory where the knowledge base persists its documents. Env `AGENTFLEET_KNOWLEDGE_DIR`. Default: memory only. */
  knowledgeDir: z.string().min(1).optional(),
  /** Vector index of the knowledge base: `exact` or `hnsw` (approximate). Env `AGENTFLEET_KNOWLEDGE_INDEX`. Default `exact`. */
  knowledgeIndex: z.enum(['exact', 'hnsw']).default('exact'),
  /** Documents one tenant may hold in the knowledge base. Env `AGENTFLEET_KNOWLEDGE_MAX_DOCUMENTS_PER_TENANT`. Default 10,000. */
  knowledgeMaxDocumentsPerTenant: int(1, 1_000_000_000).optional(),
  /** UTF-8 bytes of document text one tenant may hold. Env `AGENTFLEET_KNOWLEDGE_MAX_BYTES_PER_TENANT`. Default 16 MiB. */
  knowledgeMaxBytesPerTenant: int(1, Number.MAX_SAFE_INTEGER).optional(),
  /** Agents a tenant may own when its quotas set no `maxAgents`. Env `AGENTFLEET_MAX_AGENTS_PER_TENANT`. Default 10,000. */
  maxAgentsPerTenant: int(0, 100_000_000).default(10_000),
  /** Largest agent config (bytes of JSON) for definitions without a config schema. Env `AGENTFLEET_MAX_CONFIG_BYTES`. Default 64 KiB. */
  maxConfigBytes: int(0, 1024 ** 3).default(64 * 1024),
  /** The bus: `memory` (default), a `nats://` URL (or `nats://a,nats://b`), or an `mqtt://`/`mqtts://`/`ws(s)://` URL. Env `AGENTFLEET_BUS`, flag `--bus`, file `bus.url`. */
  bus: z
    .string()
    .regex(
      /^(memory|(nats|tls)s?:\/\/.+|(mqtts?|wss?):\/\/.+)$/,
      'must be memory, a nats:// URL or an mqtt:// URL',
    )
    .default('memory'),
  /** MQTT username (NATS credentials: see `busUser`). Env `AGENTFLEET_BUS_USER`, file `bus.user`. */
  busUser: z.string().min(1).optional(),
  /** MQTT password. Env `AGENTFLEET_BUS_PASSWORD`, file `bus.password`. */
  busPassword: z.string().min(1).optional(),
  /** NATS token. Env `AGENTFLEET_BUS_TOKEN`, file `bus.token`. */
  busToken: z.string().min(1).optional(),
  /** NATS nkey user seed (`SU…`). Env `AGENTFLEET_BUS_NKEY_SEED`, file `bus.nkeySeed`. */
  busNkeySeed: z.string().min(1).optional(),
  /** PEM file of the CA that signed the broker (turns TLS on). Env `AGENTFLEET_BUS_TLS_CA`, file `bus.tlsCa`. */
  busTlsCa: z.string().min(1).optional(),
  /** PEM file of the client certificate, for mutual TLS. Env `AGENTFLEET_BUS_TLS_CERT`, file `bus.tlsCert`. */
  busTlsCert: z.string().min(1).optional(),
  /** PEM file of the client key, for mutual TLS. Env `AGENTFLEET_BUS_TLS_KEY`, file `bus.tlsKey`. */
  busTlsKey: z.string().min(1).optional(),
  /** Whether every agent answers on the bus (`agent.<tenant>.<id>.inbox`). Env `AGENTFLEET_BUS_FRONT_DOOR`, file `bus.frontDoor`. Default true. */
  busFrontDoor: bool.default(true),
  /**
   * Queue group of the front door's subscription: nodes in one group share the requests, so
   * give nodes that do not serve the same agents (another fleet on the same broker) their own.
   * Env `AGENTFLEET_BUS_FRONT_DOOR_QUEUE`, file `bus.frontDoorQueue`. Default `agentfleet-front-door`.
   */
  busFrontDoorQueue: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, "_" or "-"')
    .optional(),
  /** Folder of agent spec files loaded at start. Env `AGENTFLEET_AGENTS`, flag `--agents`, file `agents.dir`. Default `./agents` when it exists. */
  agentsDir: z.string().min(1).optional(),
  /**
   * Reload the agents folder when a spec file changes: a valid edit becomes the definition's new
   * version (runs in flight finish on theirs), a bad one is logged and refused.
   * Env `AGENTFLEET_AGENTS_WATCH`, file `agents.watch`. Default true.
   */
  agentsWatch: bool.default(true),
  /**
   * Where durable runs, approvals and conversation memory live: `memory`, `sqlite` (a file
   * `runs.db` in the data folder), a `postgres://` URL, or a `nats://` URL (JetStream KV).
   * Env `AGENTFLEET_RUNS`, file `runs.store`. Default `sqlite` for the server (`agentfleet
   * serve`, `loadNodeConfig`), `memory` for `createNode` given a config object.
   */
  runs: z
    .string()
    .regex(
      /^(memory|sqlite|postgres(ql)?:\/\/.+|(nats|tls):\/\/.+)$/,
      'must be memory, sqlite, a postgres:// URL or a nats:// URL',
    )
    .default('memory'),
  /**
   * Provenance, a record of every LLM decision (`GET /v1/provenance`): `off`, `sqlite` (a file
   * `provenance.db` in the data folder) or a `postgres://` URL. Env `AGENTFLEET_PROVENANCE`,
   * file `provenance.store`. Default `sqlite` for the server, `off` for `createNode` given a
   * config object.
   */
  provenance: z
    .string()
    .regex(/^(off|sqlite|postgres(ql)?:\/\/.+)$/, 'must be off, sqlite or a postgres:// URL')
    .default('off'),
  /** Days provenance records are kept (pruned hourly). Env `AGENTFLEET_PROVENANCE_RETENTION_DAYS`, file `provenance.retentionDays`. Default 90. */
  provenanceRetentionDays: int(1, 36_500).default(90),
  /** Milliseconds a finished run is kept (its summary; its events go after an hour). Env `AGENTFLEET_RUN_TTL_MS`, file `runs.ttlMs`. Default 7 days. */
  runTtlMs: int(60_000, 365 * 24 * 3_600_000).default(7 * 24 * 3_600_000),
  /** Milliseconds an approval waits before it expires (the model is told). Env `AGENTFLEET_APPROVAL_TTL_MS`, file `runs.approvalTtlMs`. Default: never. */
  approvalTtlMs: int(1_000, 365 * 24 * 3_600_000).optional(),
  /**
   * This node's id: the runs it starts are its own, and it resumes them after a restart.
   * Env `AGENTFLEET_NODE_ID`, file `node.id`. Default: kept in the data folder (`node-id`)
   * with a durable run store, random otherwise.
   */
  nodeId: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, ".", "_" or "-"')
    .optional(),
  /**
   * Joins this node to a cluster through NATS JetStream: `off` (default) or `nats://` URL(s),
   * comma-separated. Agents are then addressable on every node, active on one at a time, and
   * hibernate when idle. Needs `bus` on NATS and `runs` in a shared store (both default to this
   * URL in `loadNodeConfig`). Env `AGENTFLEET_CLUSTER`, flag `--cluster`, file `cluster.url`.
   */
  cluster: z
    .string()
    .regex(/^(off|(nats|tls):\/\/.+)$/, 'must be off or a nats:// URL')
    .default('off'),
  /** Name of the cluster: its JetStream buckets are `<name>-leases`, `<name>-agents`, `<name>-definitions` (tenants’ own definitions) and, with runs on its NATS, `<name>-runs`, `-approvals`, `-conversations`. Env `AGENTFLEET_CLUSTER_NAME`, file `cluster.name`. Default `agentfleet`. */
  clusterName: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be 1-32 letters, digits, "_" or "-"')
    .default('agentfleet'),
  /** Milliseconds a dead node's agents stay unreachable before another node takes them: its heartbeat lease. Env `AGENTFLEET_CLUSTER_LEASE_MS`, file `cluster.leaseMs`. Default 5,000 (fixed by the bucket once created). */
  clusterLeaseMs: int(500, 600_000).default(5_000),
  /** Replicas of the cluster's buckets on a NATS cluster (3 survives losing a server). Env `AGENTFLEET_CLUSTER_REPLICAS`, file `cluster.replicas`. Default 1. */
  clusterReplicas: int(1, 5).default(1),
  /** Milliseconds an idle agent stays in memory in a cluster before it hibernates (0: never). Env `AGENTFLEET_HIBERNATE_AFTER_MS`, file `cluster.hibernateAfterMs`. Default 10 minutes. */
  hibernateAfterMs: int(0, 30 * 24 * 3_600_000).default(600_000),
  /** Folder for durable stores. Env `AGENTFLEET_DATA_DIR`, file `data.dir`. Default `./.agentfleet/` (not created until a store needs it). */
  dataDir: z.string().min(1).default('./.agentfleet/'),
  /**
   * Model providers by name (file `models.providers`, see `ProviderConfig`); keys come from each
   * preset's env variable. Default: the presets whose key or base URL is in the environment.
   * `models.prices` gives each `provider/model` its price per million tokens
   * (`{ inputPerMillion, outputPerMillion }`), which cost budgets count (unpriced models cost 0).
   */
  models: z
    .strictObject({
      providers: z.record(z.string(), z.record(z.string(), z.unknown())),
      prices: modelPricesSchema.optional(),
      /** A label of this models config, shown as `label@hash` (`node.models.version`). */
      version: z
        .string()
        .regex(
          /^[A-Za-z0-9][A-Za-z0-9._:+-]{0,63}$/,
          'must be 1-64 letters, digits, ".", "_", ":", "+" or "-"',
        )
        .optional(),
    })
    .optional(),
  /**
   * A JSON file of the same shape as `models` (`{ providers, prices?, version? }`), read at
   * start and watched: a change is served without a restart (calls in flight finish on the
   * old clients), an invalid file is refused and the old config keeps serving. Not with
   * `models`. Env `AGENTFLEET_MODELS_FILE`, file `models.file`.
   */
  modelsFile: z.string().min(1).optional(),
  /**
   * Autoscaling policies (see `autoscalePolicySchema`): step rules or target tracking over the
   * node's figures or Prometheus, each resizing an actuator (`pool`, `group:<id>`, `kubernetes`).
   * File `autoscale.policies` (a list), env `AGENTFLEET_AUTOSCALE_POLICIES` (JSON). Default none.
   */
  autoscalePolicies: z
    .preprocess((v) => (typeof v === 'string' ? parseJsonSetting(v) : v), autoscalePoliciesSchema)
    .optional(),
  /** Prometheus for policies with `source: prometheus`. Env `AGENTFLEET_AUTOSCALE_PROMETHEUS_URL`, file `autoscale.prometheusUrl`. */
  autoscalePrometheusUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** Milliseconds between the autoscaler's rounds. Env `AGENTFLEET_AUTOSCALE_TICK_MS`, file `autoscale.tickMs`. Default 15,000. */
  autoscaleTickMs: int(100, 3_600_000).default(15_000),
  /** Record what the autoscaler would do, change nothing. Env `AGENTFLEET_AUTOSCALE_DRY_RUN`, file `autoscale.dryRun`. Default false. */
  autoscaleDryRun: bool.default(false),
  /** pino log level. Env `LOG_LEVEL`. Default `info`. */
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** The one config of a node and its server, after validation, defaults filled in. */
export type ServerConfig = z.output<typeof serverConfigSchema>;
/** What `createNode` and `startServer` accept: every field optional. */
export type ServerConfigInput = z.input<typeof serverConfigSchema>;

/** The environment variable of each setting (`''`: none). */
export const ENV_NAMES: Record<keyof ServerConfig, string> = {
  port: 'PORT',
  host: 'HOST',
  workers: 'AGENTFLEET_WORKERS',
  workerRestartBaseMs: 'AGENTFLEET_WORKER_RESTART_BASE_MS',
  workerRestartMaxMs: 'AGENTFLEET_WORKER_RESTART_MAX_MS',
  workerRestartLimit: 'AGENTFLEET_WORKER_RESTART_LIMIT',
  bodyLimitBytes: 'AGENTFLEET_BODY_LIMIT_BYTES',
  requestTimeoutMs: 'AGENTFLEET_REQUEST_TIMEOUT_MS',
  shutdownTimeoutMs: 'AGENTFLEET_SHUTDOWN_TIMEOUT_MS',
  poolCapacity: 'AGENTFLEET_POOL_CAPACITY',
  poolQueueLimit: 'AGENTFLEET_POOL_QUEUE',
  stopTimeoutMs: 'AGENTFLEET_STOP_TIMEOUT_MS',
  logLevel: 'LOG_LEVEL',
  auth: 'AGENTFLEET_AUTH',
  adminKey: 'AGENTFLEET_ADMIN_KEY',
  adminKeySha256: 'AGENTFLEET_ADMIN_KEY_SHA256',
  tenants: 'AGENTFLEET_TENANTS',
  authCacheTtlMs: 'AGENTFLEET_AUTH_CACHE_MS',
  publicAct: 'AGENTFLEET_PUBLIC_ACT',
  stateConfig: 'AGENTFLEET_STATE_CONFIG',
  metricsPublic: 'AGENTFLEET_METRICS_PUBLIC',
  redisUrl: 'AGENTFLEET_REDIS_URL',
  knowledgeDir: 'AGENTFLEET_KNOWLEDGE_DIR',
  knowledgeIndex: 'AGENTFLEET_KNOWLEDGE_INDEX',
  knowledgeMaxDocumentsPerTenant: 'AGENTFLEET_KNOWLEDGE_MAX_DOCUMENTS_PER_TENANT',
  knowledgeMaxBytesPerTenant: 'AGENTFLEET_KNOWLEDGE_MAX_BYTES_PER_TENANT',
  maxAgentsPerTenant: 'AGENTFLEET_MAX_AGENTS_PER_TENANT',
  maxConfigBytes: 'AGENTFLEET_MAX_CONFIG_BYTES',
  bus: 'AGENTFLEET_BUS',
  busUser: 'AGENTFLEET_BUS_USER',
  busPassword: 'AGENTFLEET_BUS_PASSWORD',
  busToken: 'AGENTFLEET_BUS_TOKEN',
  busNkeySeed: 'AGENTFLEET_BUS_NKEY_SEED',
  busTlsCa: 'AGENTFLEET_BUS_TLS_CA',
  busTlsCert: 'AGENTFLEET_BUS_TLS_CERT',
  busTlsKey: 'AGENTFLEET_BUS_TLS_KEY',
  busFrontDoor: 'AGENTFLEET_BUS_FRONT_DOOR',
  busFrontDoorQueue: 'AGENTFLEET_BUS_FRONT_DOOR_QUEUE',
  agentsDir: 'AGENTFLEET_AGENTS',
  agentsWatch: 'AGENTFLEET_AGENTS_WATCH',
  dataDir: 'AGENTFLEET_DATA_DIR',
  runs: 'AGENTFLEET_RUNS',
  runTtlMs: 'AGENTFLEET_RUN_TTL_MS',
  provenance: 'AGENTFLEET_PROVENANCE',
  provenanceRetentionDays: 'AGENTFLEET_PROVENANCE_RETENTION_DAYS',
  approvalTtlMs: 'AGENTFLEET_APPROVAL_TTL_MS',
  nodeId: 'AGENTFLEET_NODE_ID',
  cluster: 'AGENTFLEET_CLUSTER',
  clusterName: 'AGENTFLEET_CLUSTER_NAME',
  clusterLeaseMs: 'AGENTFLEET_CLUSTER_LEASE_MS',
  clusterReplicas: 'AGENTFLEET_CLUSTER_REPLICAS',
  hibernateAfterMs: 'AGENTFLEET_HIBERNATE_AFTER_MS',
  models: '',
  modelsFile: 'AGENTFLEET_MODELS_FILE',
  autoscalePolicies: 'AGENTFLEET_AUTOSCALE_POLICIES',
  autoscalePrometheusUrl: 'AGENTFLEET_AUTOSCALE_PROMETHEUS_URL',
  autoscaleTickMs: 'AGENTFLEET_AUTOSCALE_TICK_MS',
  autoscaleDryRun: 'AGENTFLEET_AUTOSCALE_DRY_RUN',
};

/** Settings whose values never appear in an error message. */
export const SECRET_KEYS = new Set<string>([
  'adminKey',
  'tenants',
  'redisUrl',
  'bus',
  'busPassword',
  'models',
  'runs',
  'provenance',
  'cluster',
  'autoscalePrometheusUrl',
]);

/** The server config was invalid; the message names each bad setting and where it came from. */
export class ConfigInvalidError extends AgentfleetError<ConfigErrorCode> {
  constructor(problems: string[]) {
    super('CONFIG_INVALID', `Invalid server configuration: ${problems.join('; ')}`, {
      details: { problems },
    });
  }
}

/** Where a setting's value came from, as an error message names it. */
export type SettingSource = { kind: 'flag' } | { kind: 'env' } | { kind: 'file'; path: string; line: number };

/**
 * Validates raw setting values once against the schema. Each problem names the setting and
 * where its value came from (`--flag`, the env variable, or file and line); secrets are redacted.
 * A cluster's bus and run store default to its URL.
 * @throws ConfigInvalidError
 */
export function validateConfig(
  raw: Record<string, unknown>,
  sources: ReadonlyMap<string, SettingSource> = new Map(),
): ServerConfig {
  const input = { ...raw };
  applyClusterDefaults(input);
  const result = serverConfigSchema.safeParse(input);
  if (!result.success) {
    throw new ConfigInvalidError(
      result.error.issues.map((issue) => {
        const key = String(issue.path[0] ?? '') as keyof ServerConfig;
        const problem = `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`;
        const source = sources.get(key);
        if (source === undefined) return problem;
        const shown = SECRET_KEYS.has(key) ? '<redacted>' : JSON.stringify(raw[key]);
        const from =
          source.kind === 'flag'
            ? `--${key}`
            : source.kind === 'env'
              ? ENV_NAMES[key]
              : `${source.path} line ${source.line}`;
        return `${problem} (from ${from}=${shown})`;
      }),
    );
  }
  const config = result.data;
  if (config.workers > 1 && config.knowledgeDir !== undefined) {
    // The store is locked by the process that opens it: a second worker could only fail.
    throw new ConfigInvalidError([
      `workers: a knowledge directory (AGENTFLEET_KNOWLEDGE_DIR=${JSON.stringify(config.knowledgeDir)}) is opened by one process; run one worker, or leave the directory unset (memory only) with ${config.workers} workers`,
    ]);
  }
  if (config.models !== undefined && config.modelsFile !== undefined) {
    throw new ConfigInvalidError([
      `modelsFile: models come from one place; set modelsFile (${JSON.stringify(config.modelsFile)}) or models (inline), not both`,
    ]);
  }
  const problems = clusterProblems(config);
  if (problems.length > 0) throw new ConfigInvalidError(problems);
  return config;
}

/** Copies the environment variables that are set (not empty) into `raw`, noting their source. */
export function readEnv(
  env: Record<string, string | undefined>,
  raw: Record<string, unknown>,
  sources: Map<string, SettingSource>,
): void {
  for (const [key, name] of Object.entries(ENV_NAMES)) {
    const value = name === '' ? undefined : env[name];
    if (value !== undefined && value !== '') {
      raw[key] = value;
      sources.set(key, { kind: 'env' });
    }
  }
}

/**
 * Builds the config from environment variables, overridden by explicit values (CLI flags or
 * code); no file (see `loadNodeConfig`). Empty strings count as unset.
 * @throws ConfigInvalidError naming each bad value and its environment variable.
 */
export function loadServerConfig(
  env: Record<string, string | undefined> = process.env,
  overrides: Partial<Record<keyof ServerConfig, unknown>> = {},
): ServerConfig {
  const raw: Record<string, unknown> = {};
  const sources = new Map<string, SettingSource>();
  readEnv(env, raw, sources);
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    raw[key] = value;
    sources.set(key, { kind: 'flag' });
  }
  return validateConfig(raw, sources);
}

/** A cluster's bus and runs are on its NATS unless told otherwise. */
export function applyClusterDefaults(raw: Record<string, unknown>): void {
  if (typeof raw.cluster === 'string' && raw.cluster !== 'off' && raw.cluster !== '') {
    raw.bus ??= raw.cluster;
    raw.runs ??= raw.cluster;
  }
}

/** What a cluster needs of the rest of the config, and `workers` of a cluster. */
function clusterProblems(config: ServerConfig): string[] {
  if (config.cluster === 'off') {
    // N unrelated processes would each hold their own agents and state behind one port.
    const scaled = config.autoscalePolicies?.find((p) => p.actuator === 'workers' && p.max > 1);
    if (scaled !== undefined)
      return [
        `autoscalePolicies: policy ${scaled.name} scales workers up to ${scaled.max}, and more than one worker needs a cluster (set cluster to a nats:// URL, AGENTFLEET_CLUSTER)`,
      ];
    return config.workers > 1
      ? [
          `workers: ${config.workers} workers need a cluster (set cluster to a nats:// URL, AGENTFLEET_CLUSTER), or they would split agents and state between processes; or run one worker`,
        ]
      : [];
  }
  const problems: string[] = [];
  if (!/^(nats|tls)s?:\/\//.test(config.bus))
    problems.push('bus: a cluster calls between nodes over the bus; set bus to a nats:// URL');
  if (config.runs === 'memory' || config.runs === 'sqlite')
    problems.push(
      `runs: a cluster keeps runs in a shared store so another node can resume them; set runs to a nats:// or postgres:// URL (not ${config.runs})`,
    );
  if (config.nodeId?.includes('.'))
    problems.push('nodeId: a cluster node id has no "." (it is a subject token)');
  return problems;
}
