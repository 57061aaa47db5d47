import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ServerConfig } from '../config/index.ts';
import { MemoryRunStore, type RunStore, SqliteRunStore } from '../runs/index.ts';

const NODE_ID = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Opens the run store the config names and works out this node's id: the config's, else one
 * kept in the data folder (`node-id`, made on first start) with a durable store, else random.
 * A worker of `--workers` appends its slot (`-w0`, `-w1`, …), so each resumes its own runs.
 */
export async function openRuns(config: ServerConfig): Promise<{ store: RunStore; owner: string }> {
  const dataDir = resolve(config.dataDir);
  const durable = config.runs !== 'memory';
  const base = config.nodeId ?? (durable ? keptNodeId(dataDir) : randomId());
  const slot = process.env.AGENTFLEET_WORKER_SLOT;
  const owner = slot !== undefined && /^\d{1,4}$/.test(slot) ? `${base}-w${slot}` : base;
  if (config.runs === 'memory') return { store: new MemoryRunStore(), owner };
  if (config.runs === 'sqlite')
    return { store: await SqliteRunStore.open({ path: join(dataDir, 'runs.db') }), owner };
  if (/^postgres(ql)?:\/\//.test(config.runs)) {
    // Loaded only when asked for, so a node without PostgreSQL never loads its client.
    const { PostgresRunStore } = await import('../runs/internal.ts');
    return { store: await PostgresRunStore.open({ connectionString: config.runs }), owner };
  }
  // nats:// (or tls://): JetStream KV, on a connection of the store's own; a cluster's runs sit
  // beside its other buckets (`<cluster name>-runs`, …), with its replicas.
  const { NatsKvRunStore } = await import('../runs/nats-kv-run-store.ts');
  const clustered = config.cluster !== 'off';
  const store = await NatsKvRunStore.open({
    servers: config.runs.split(','),
    ...(clustered ? { bucketPrefix: config.clusterName, replicas: config.clusterReplicas } : {}),
  });
  return { store, owner };
}

function keptNodeId(dataDir: string): string {
  const file = join(dataDir, 'node-id');
  try {
    const kept = readFileSync(file, 'utf8').trim();
    if (NODE_ID.test(kept)) return kept;
  } catch {
    // None yet: make one below.
  }
  mkdirSync(dataDir, { recursive: true });
  const id = randomId();
  writeFileSync(file, `${id}\n`, { flag: 'w' });
  return id;
}

function randomId(): string {
  return `node-${randomBytes(6).toString('hex')}`;
}
