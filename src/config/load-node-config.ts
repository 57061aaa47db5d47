import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type YAMLMap } from 'yaml';
import {
  applyClusterDefaults,
  ConfigInvalidError,
  readEnv,
  type ServerConfig,
  type SettingSource,
  validateConfig,
} from './server-config.ts';

/** Where each setting sits in a config file (`agentfleet.yaml`): section, then key. */
export const FILE_PATHS: Record<keyof ServerConfig, readonly [string, string]> = {
  port: ['server', 'port'],
  host: ['server', 'host'],
  workers: ['server', 'workers'],
  workerRestartBaseMs: ['server', 'workerRestartBaseMs'],
  workerRestartMaxMs: ['server', 'workerRestartMaxMs'],
  workerRestartLimit: ['server', 'workerRestartLimit'],
  bodyLimitBytes: ['server', 'bodyLimitBytes'],
  requestTimeoutMs: ['server', 'requestTimeoutMs'],
  shutdownTimeoutMs: ['server', 'shutdownTimeoutMs'],
  publicAct: ['server', 'publicAct'],
  metricsPublic: ['server', 'metricsPublic'],
  logLevel: ['server', 'logLevel'],
  auth: ['tenants', 'auth'],
  adminKey: ['tenants', 'adminKey'],
  adminKeySha256: ['tenants', 'adminKeySha256'],
  tenants: ['tenants', 'registry'],
  authCacheTtlMs: ['tenants', 'authCacheTtlMs'],
  redisUrl: ['redis', 'url'],
  bus: ['bus', 'url'],
  busUser: ['bus', 'user'],
  busPassword: ['bus', 'password'],
  busToken: ['bus', 'token'],
  busNkeySeed: ['bus', 'nkeySeed'],
  busTlsCa: ['bus', 'tlsCa'],
  busTlsCert: ['bus', 'tlsCert'],
  busTlsKey: ['bus', 'tlsKey'],
  busFrontDoor: ['bus', 'frontDoor'],
  busFrontDoorQueue: ['bus', 'frontDoorQueue'],
  stateConfig: ['state', 'config'],
  knowledgeDir: ['knowledge', 'dir'],
  knowledgeIndex: ['knowledge', 'index'],
  knowledgeMaxDocumentsPerTenant: ['knowledge', 'maxDocumentsPerTenant'],
  knowledgeMaxBytesPerTenant: ['knowledge', 'maxBytesPerTenant'],
  agentsDir: ['agents', 'dir'],
  agentsWatch: ['agents', 'watch'],
  dataDir: ['data', 'dir'],
  runs: ['runs', 'store'],
  runTtlMs: ['runs', 'ttlMs'],
  approvalTtlMs: ['runs', 'approvalTtlMs'],
  provenance: ['provenance', 'store'],
  provenanceRetentionDays: ['provenance', 'retentionDays'],
  nodeId: ['node', 'id'],
  cluster: ['cluster', 'url'],
  clusterName: ['cluster', 'name'],
  clusterLeaseMs: ['cluster', 'leaseMs'],
  clusterReplicas: ['cluster', 'replicas'],
  hibernateAfterMs: ['cluster', 'hibernateAfterMs'],
  poolCapacity: ['limits', 'poolCapacity'],
  poolQueueLimit: ['limits', 'poolQueueLimit'],
  stopTimeoutMs: ['limits', 'stopTimeoutMs'],
  maxAgentsPerTenant: ['limits', 'maxAgentsPerTenant'],
  maxConfigBytes: ['limits', 'maxConfigBytes'],
  models: ['models', ''],
  modelsFile: ['models', 'file'],
  autoscalePolicies: ['autoscale', 'policies'],
  autoscalePrometheusUrl: ['autoscale', 'prometheusUrl'],
  autoscaleTickMs: ['autoscale', 'tickMs'],
  autoscaleDryRun: ['autoscale', 'dryRun'],
};

/** Options of `loadNodeConfig`. */
export interface LoadNodeConfigOptions {
  /** A YAML or JSON config file. Default `./agentfleet.yaml` (or `.yml`, `.json`) when it exists; `false`: none. */
  file?: string | false;
  /** Environment variables (see `ENV_NAMES`). Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Command-line flags by setting name (`port`, `agentsDir`, `bus`, …); `undefined` counts as unset. */
  flags?: Partial<Record<keyof ServerConfig, unknown>>;
  /** Folder the default file and agents folder are looked up in. Default `process.cwd()`. */
  cwd?: string;
}

/**
 * The one config of a node: a file, then the environment, then flags (flags > env > file >
 * defaults), validated once. Every problem names the setting and where its value came from:
 * the file and line, the env variable, or the flag. Secrets are redacted.
 * @throws ConfigInvalidError (`CONFIG_INVALID`)
 */
export function loadNodeConfig(options: LoadNodeConfigOptions = {}): ServerConfig {
  const cwd = options.cwd ?? process.cwd();
  const raw: Record<string, unknown> = {};
  const sources = new Map<string, SettingSource>();
  const file = options.file === false ? undefined : (options.file ?? defaultFile(cwd));
  if (file !== undefined) readFile(resolve(cwd, file), raw, sources);
  readEnv(options.env ?? process.env, raw, sources);
  for (const [key, value] of Object.entries(options.flags ?? {})) {
    if (value === undefined) continue;
    raw[key] = value;
    sources.set(key, { kind: 'flag' });
  }
  if (raw.agentsDir === undefined && existsSync(resolve(cwd, 'agents')))
    raw.agentsDir = resolve(cwd, 'agents');
  applyClusterDefaults(raw);
  // The server keeps runs in its data folder unless told otherwise; a library's config object
  // (createNode) keeps them in memory unless it asks.
  raw.runs ??= 'sqlite';
  // Provenance likewise: on in the data folder for the server, off for a library's config object.
  raw.provenance ??= 'sqlite';
  return validateConfig(raw, sources);
}

function defaultFile(cwd: string): string | undefined {
  return ['agentfleet.yaml', 'agentfleet.yml', 'agentfleet.json'].find((name) =>
    existsSync(resolve(cwd, name)),
  );
}

/** Reads a YAML/JSON file (JSON is read by the YAML parser too, for line numbers) into `raw`. */
function readFile(path: string, raw: Record<string, unknown>, sources: Map<string, SettingSource>): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigInvalidError([`config file ${path}: ${(error as Error).message}`]);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const lineOf = (offset: number | undefined) => (offset === undefined ? 1 : lines.linePos(offset).line);
  if (doc.errors.length > 0) {
    throw new ConfigInvalidError(
      doc.errors.map((e) => `config file ${path} line ${lineOf(e.pos[0])}: ${e.message.split('\n')[0]}`),
    );
  }
  if (doc.contents === null) return;
  if (!isMap(doc.contents))
    throw new ConfigInvalidError([`config file ${path}: must be a mapping of sections`]);
  const problems: string[] = [];
  const known = new Map<string, keyof ServerConfig>();
  for (const [key, [section, name]] of Object.entries(FILE_PATHS)) {
    known.set(`${section}.${name}`, key as keyof ServerConfig);
  }
  for (const sectionPair of (doc.contents as YAMLMap).items) {
    const section = isScalar(sectionPair.key) ? String(sectionPair.key.value) : '';
    const line = lineOf(isScalar(sectionPair.key) ? sectionPair.key.range?.[0] : undefined);
    if (section === 'models') {
      // `models.file` names a models file; the section's other keys are the models inline.
      const value: unknown = doc.toJS().models;
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        raw.models = value; // refused by the schema, naming this line
        sources.set('models', { kind: 'file', path, line });
        continue;
      }
      const { file: modelsFile, ...inline } = value as Record<string, unknown>;
      if (modelsFile !== undefined) {
        raw.modelsFile = modelsFile;
        sources.set('modelsFile', { kind: 'file', path, line });
      }
      if (modelsFile === undefined || Object.keys(inline).length > 0) {
        raw.models = inline;
        sources.set('models', { kind: 'file', path, line });
      }
      continue;
    }
    if (!Object.values(FILE_PATHS).some(([s]) => s === section)) {
      problems.push(`${section}: unknown section (${path} line ${line})`);
      continue;
    }
    if (!isMap(sectionPair.value)) {
      problems.push(`${section}: must be a mapping (${path} line ${line})`);
      continue;
    }
    for (const pair of sectionPair.value.items) {
      const name = isScalar(pair.key) ? String(pair.key.value) : '';
      const at = lineOf(isScalar(pair.key) ? pair.key.range?.[0] : undefined);
      const key = known.get(`${section}.${name}`);
      if (key === undefined) {
        problems.push(`${section}.${name}: unknown setting (${path} line ${at})`);
        continue;
      }
      const value = isScalar(pair.value)
        ? pair.value.value
        : (pair.value as { toJSON?: () => unknown })?.toJSON?.();
      if (value === null || value === undefined) continue;
      // Env variables are strings; a file's scalars are given to the schema as the same strings.
      raw[key] = typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
      sources.set(key, { kind: 'file', path, line: at });
    }
  }
  if (problems.length > 0) throw new ConfigInvalidError(problems);
}
