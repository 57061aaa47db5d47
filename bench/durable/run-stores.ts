// The run stores the durable-loops benchmark checkpoints into, each fresh and removed afterwards.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { MemoryRunStore, type RunStore, SqliteRunStore } from '../../src/runs/index.ts';
import { POSTGRES_URL } from '../../test/integration/servers.ts';

export async function openBenchRunStore(kind: string): Promise<{ store: RunStore; close(): Promise<void> }> {
  if (kind === 'memory') {
    const store = new MemoryRunStore();
    return { store, close: () => store.close() };
  }
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'agentfleet-bench-runs-'));
    const store = await SqliteRunStore.open({ path: join(dir, 'runs.db') });
    return {
      store,
      async close() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  if (kind === 'postgres') {
    const { PostgresRunStore } = await import('../../src/runs/internal.ts');
    const schema = `af_bench_${randomBytes(4).toString('hex')}`;
    const store = await PostgresRunStore.open({ connectionString: POSTGRES_URL, schema });
    return {
      store,
      async close() {
        await store.close();
        const client = new pg.Client({ connectionString: POSTGRES_URL });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await client.end();
      },
    };
  }
  if (kind === 'nats') {
    const { NatsKvRunStore } = await import('../../src/runs/nats-kv-run-store.ts');
    const prefix = `afbench${randomBytes(4).toString('hex')}`;
    const store = await NatsKvRunStore.open({ servers: 'nats://127.0.0.1:4222', bucketPrefix: prefix });
    return {
      async close() {
        await store.close();
        const { connect } = await import('@nats-io/transport-node');
        const { Kvm } = await import('@nats-io/kv');
        const nc = await connect({ servers: 'nats://127.0.0.1:4222' });
        const kvm = new Kvm(nc);
        for (const name of ['runs', 'approvals', 'conversations'])
          await (await kvm.open(`${prefix}-${name}`)).destroy().catch(() => undefined);
        await nc.close();
      },
      store,
    };
  }
  throw new Error(`unknown run store ${kind}`);
}
