// The run store contract against the PostgreSQL server on loopback 5432 (database `test`),
// each store in its own schema, dropped afterwards; plus what only a shared server shows:
// migrations run once, two nodes racing on one run or one approval, and a lost, silent or
// absent server giving RUN_STORE_UNAVAILABLE within its timeouts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server, Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { PostgresRunStore, PostgresTenantRegistry } from '../../src/postgres.ts';
import { newApprovalId, type RunEvent, type RunStore } from '../../src/runs/index.ts';
import { runStoreContract, sampleRun } from '../../src/testing/index.ts';
import { rejectsWithCode } from '../helpers.ts';
import { POSTGRES_URL, serverSkipReason } from './servers.ts';

const skip = await serverSkipReason('PostgreSQL', 5432);
const schemas: string[] = [];
const newSchema = () => {
  const s = `af_runs_${randomBytes(4).toString('hex')}`;
  schemas.push(s);
  return s;
};
const schemaOf = new WeakMap<RunStore, string>();

after(async () => {
  if (skip !== undefined) return;
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await client.end();
});

/** One statement on a connection of its own (bypassing any store). */
async function sql<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

runStoreContract('postgres', {
  skip,
  open: async () => {
    const schema = newSchema();
    const store = await PostgresRunStore.open({ connectionString: POSTGRES_URL, schema });
    schemaOf.set(store, schema);
    return store;
  },
  corrupt: async (store, kind, tenant, key, json) => {
    const schema = schemaOf.get(store)!;
    const [table, column, id] =
      kind === 'run'
        ? ['agentfleet_runs', 'record', 'id']
        : kind === 'approval'
          ? ['agentfleet_approvals', 'record', 'id']
          : ['agentfleet_conversations', 'conversation', 'agent_id'];
    await sql(`UPDATE ${schema}.${table} SET ${column} = $1 WHERE tenant = $2 AND ${id} = $3`, [
      json,
      tenant ?? '',
      key,
    ]);
  },
});

const T0 = 1_800_000_000_000;
const start: RunEvent = { seq: 1, at: T0, body: { type: 'start', input: 'hi' } };

/** A TCP relay to the server that a test can make silent (bytes dropped) or cut. */
async function relay(): Promise<{ url: string; silence(): void; cut(): Promise<void> }> {
  let silent = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    const outbound = new Socket();
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    outbound.connect(5432, '127.0.0.1');
    inbound.on('data', (b) => silent || outbound.write(b));
    outbound.on('data', (b) => silent || inbound.write(b));
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: POSTGRES_URL.replace('127.0.0.1:5432', `127.0.0.1:${port}`),
    silence: () => {
      silent = true;
    },
    cut: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** What `promise` resolves to, and the milliseconds it took. */
async function timed<T>(promise: Promise<T>): Promise<[number, T]> {
  const t = performance.now();
  const value = await promise;
  return [performance.now() - t, value];
}

describe('postgres run store', { skip }, () => {
  it('runs its migration once, even when several nodes open it at the same time, beside the tenant registry', async () => {
    const schema = newSchema();
    const registry = await PostgresTenantRegistry.open({ connectionString: POSTGRES_URL, schema });
    const stores = await Promise.all(
      Array.from({ length: 4 }, () => PostgresRunStore.open({ connectionString: POSTGRES_URL, schema })),
    );
    const again = await PostgresRunStore.open({ connectionString: POSTGRES_URL, schema });
    const versions = await sql<{ version: number }>(
      `SELECT version FROM ${schema}.agentfleet_run_migrations`,
    );
    assert.deepEqual(
      versions.map((r) => r.version),
      [1],
    );
    const indexes = await sql<{ indexname: string }>(
      'SELECT indexname FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname',
      [schema],
    );
    for (const name of [
      'agentfleet_runs_by_agent',
      'agentfleet_runs_unfinished',
      'agentfleet_runs_finished',
      'agentfleet_approvals_due',
      'agentfleet_approvals_decided',
    ])
      assert.ok(
        indexes.some((i) => i.indexname === name),
        `${name} among ${indexes.map((i) => i.indexname)}`,
      );
    const run = sampleRun({ tenant: 'acme' });
    await stores[0]!.create(run, [start]);
    assert.deepEqual(await stores[3]!.get('acme', run.id), run, 'every node sees the same runs');
    await Promise.all([...stores, again].map((s) => s.close()));
    await registry.close();
  });

  it('of two nodes appending after the same checkpoint, one wins and the other gets RUN_CONFLICT', async () => {
    const schema = newSchema();
    const [a, b] = await Promise.all(
      [1, 2].map(() => PostgresRunStore.open({ connectionString: POSTGRES_URL, schema })),
    );
    const run = sampleRun();
    await a!.create(run, [start]);
    let seq = 1;
    for (let round = 0; round < 20; round++) {
      const step = (store: PostgresRunStore, n: number) =>
        store.append(
          undefined,
          run.id,
          seq,
          [
            { seq: seq + 1, at: T0, body: { type: 'step-start', step: n } },
            { seq: seq + 2, at: T0, body: { type: 'tool-start', step: n, callId: `c${n}`, name: 't' } },
          ],
          { step: n, updatedAt: T0 + round },
        );
      const results = await Promise.allSettled([step(a!, round * 2 + 1), step(b!, round * 2 + 2)]);
      const won = results.filter((r) => r.status === 'fulfilled');
      assert.equal(won.length, 1, `round ${round}: one append wins`);
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      assert.equal(lost.reason.code, 'RUN_CONFLICT');
      seq += 2;
    }
    const events = await b!.events(undefined, run.id);
    assert.deepEqual(
      events.map((e) => e.seq),
      Array.from({ length: 41 }, (_, i) => i + 1),
      'no part of a losing append was written',
    );
    assert.equal((await a!.get(undefined, run.id))?.seq, 41);
    await Promise.all([a!.close(), b!.close()]);
  });

  it('of two nodes deciding the same approval, one wins', async () => {
    const schema = newSchema();
    const [a, b] = await Promise.all(
      [1, 2].map(() => PostgresRunStore.open({ connectionString: POSTGRES_URL, schema })),
    );
    const run = sampleRun({ tenant: 'acme', status: 'awaiting-approval' });
    await a!.create(run, [start]);
    for (let i = 0; i < 20; i++) {
      const id = newApprovalId();
      await a!.putApproval({
        id,
        tenant: 'acme',
        runId: run.id,
        agentId: run.agentId,
        callId: `call_${i}`,
        tool: 'refund',
        arguments: '{}',
        status: 'pending',
        requestedAt: T0,
      });
      const results = await Promise.allSettled([
        a!.decideApproval('acme', id, { status: 'approved', at: T0 + 1 }),
        b!.decideApproval('acme', id, { status: 'rejected', at: T0 + 2, reason: 'no' }),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled') as PromiseFulfilledResult<unknown>[];
      assert.equal(won.length, 1, `approval ${i}: one decision wins`);
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      assert.equal(lost.reason.code, 'APPROVAL_DECIDED');
      assert.deepEqual(await b!.getApproval('acme', id), won[0]!.value, 'the stored one is the winner');
    }
    await Promise.all([a!.close(), b!.close()]);
  });

  it('reports a closed port as RUN_STORE_UNAVAILABLE at once', async (t) => {
    const [ms, error] = await timed(
      rejectsWithCode(
        PostgresRunStore.open({ connectionString: 'postgres://postgres@127.0.0.1:1/test' }),
        'RUN_STORE_UNAVAILABLE',
      ),
    );
    assert.match(String((error.cause as Error).message), /ECONNREFUSED/);
    t.diagnostic(`closed port: ${ms.toFixed(0)} ms`);
    assert.ok(ms < 1_000, `took ${ms.toFixed(0)} ms`);
  });

  it('reports a server that accepts but never answers as RUN_STORE_UNAVAILABLE after connectTimeoutMs', async (t) => {
    const sockets = new Set<Socket>();
    const silent = createServer((s) => sockets.add(s.on('error', () => {})));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    const opening = PostgresRunStore.open({
      connectionString: `postgres://postgres@127.0.0.1:${port}/test`,
      connectTimeoutMs: 300,
    });
    const [ms] = await timed(rejectsWithCode(opening, 'RUN_STORE_UNAVAILABLE'));
    t.diagnostic(`silent server, connectTimeoutMs 300: ${ms.toFixed(0)} ms`);
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => silent.close(resolve));
    assert.ok(ms >= 250 && ms < 1_500, `took ${ms.toFixed(0)} ms`);
  });

  it('a server lost or gone silent after opening is RUN_STORE_UNAVAILABLE within the timeouts, with its cause', async (t) => {
    const schema = newSchema();
    // Silent: every call is bounded by queryTimeoutMs (or connectTimeoutMs for a new connection).
    const hush = await relay();
    const quiet = await PostgresRunStore.open({
      connectionString: hush.url,
      schema,
      connectTimeoutMs: 500,
      queryTimeoutMs: 500,
    });
    const run = sampleRun();
    await quiet.create(run, [start]);
    hush.silence();
    for (const [name, call] of [
      ['get', () => quiet.get(undefined, run.id)],
      ['append', () => quiet.append(undefined, run.id, 1, [], { updatedAt: T0 })],
    ] as const) {
      const [ms, error] = await timed(rejectsWithCode(call(), 'RUN_STORE_UNAVAILABLE'));
      t.diagnostic(`silent after open, ${name} (timeouts 500 ms): ${ms.toFixed(0)} ms, ${error.message}`);
      assert.ok(error.cause instanceof Error, 'the driver error is its cause');
      assert.ok(ms < 2_000, `took ${ms.toFixed(0)} ms`);
    }
    await hush.cut();
    await quiet.close();
    // Cut: connections drop and no new one can be made.
    const cable = await relay();
    const store = await PostgresRunStore.open({ connectionString: cable.url, schema });
    assert.equal((await store.get(undefined, run.id))?.id, run.id);
    await cable.cut();
    for (const [name, call] of [
      ['get', () => store.get(undefined, run.id)],
      ['append', () => store.append(undefined, run.id, 1, [], { updatedAt: T0 })],
      ['unfinished', () => store.unfinished()],
    ] as const) {
      const [ms, error] = await timed(rejectsWithCode(call(), 'RUN_STORE_UNAVAILABLE'));
      t.diagnostic(`cut after open, ${name}: ${ms.toFixed(0)} ms, ${error.message}`);
      assert.ok(ms < 1_000, `took ${ms.toFixed(0)} ms`);
    }
    await store.close();
  });

  it('refuses a schema name that is not a plain identifier', async () => {
    await rejectsWithCode(PostgresRunStore.open({ schema: 'x; DROP TABLE y' }), 'INVALID_OPTIONS');
  });
});
