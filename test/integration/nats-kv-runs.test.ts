// The run store contract against JetStream KV on a real NATS server, plus what only a shared
// server shows: two connections racing for one decision or one append, a dead writer's
// leftovers, and a lost connection.
import assert from 'node:assert/strict';
import { createConnection, createServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { newApprovalId, type RunEvent } from '../../src/runs/index.ts';
import { eventKey, natsKvRunBuckets, rowKey } from '../../src/runs/nats-kv-keys.ts';
import { NatsKvRunStore } from '../../src/runs/nats-kv-run-store.ts';
import { rejectsWithCode, runStoreContract, sampleRun } from '../../src/testing/index.ts';
import { NATS_URL, serverSkipReason } from './servers.ts';

const skip = await serverSkipReason('NATS', 4222);
const prefixes: string[] = [];
const prefixOf = new WeakMap<object, string>();
let one: NatsConnection;
let two: NatsConnection;
let n = 0;

/** A fresh prefix per store, so every run of this file starts from empty buckets. */
const freshPrefix = () => {
  const prefix = `t-runs-${process.pid}-${Date.now().toString(36)}-${n++}`;
  prefixes.push(prefix);
  return prefix;
};

async function store(connection = one, bucketPrefix = freshPrefix()): Promise<NatsKvRunStore> {
  const s = await NatsKvRunStore.open({ connection, bucketPrefix, timeoutMs: 2_000 });
  prefixOf.set(s, bucketPrefix);
  return s;
}

before(async () => {
  if (skip !== undefined) return;
  [one, two] = [await connect({ servers: NATS_URL }), await connect({ servers: NATS_URL })];
});

after(async () => {
  if (skip !== undefined) return;
  const jsm = await jetstreamManager(one);
  for (const prefix of prefixes)
    for (const bucket of Object.values(natsKvRunBuckets(prefix)))
      await jsm.streams.delete(`KV_${bucket}`).catch(() => false);
  await Promise.all([one.close(), two.close()]);
});

runStoreContract('nats kv', {
  skip,
  open: () => store(),
  corrupt: async (s, kind, tenant, key, json) => {
    const buckets = natsKvRunBuckets(prefixOf.get(s) as string);
    const kv = await new Kvm(one).open(
      buckets[kind === 'run' ? 'runs' : kind === 'approval' ? 'approvals' : 'conversations'],
    );
    await kv.put(rowKey(tenant ?? '', key), json);
  },
});

const T0 = 1_800_000_000_000;
const start: RunEvent = { seq: 1, at: T0, body: { type: 'start', input: 'hi' } };
const step = (seq: number, s: number): RunEvent => ({ seq, at: T0, body: { type: 'step-start', step: s } });

describe('nats kv run store across connections', { skip }, () => {
  it('of two appends at one checkpoint from two connections, one commits, with its own events', async () => {
    const prefix = freshPrefix();
    const [a, b] = [await store(one, prefix), await store(two, prefix)];
    for (let round = 0; round < 10; round++) {
      const run = sampleRun();
      await a.create(run, [start]);
      const results = await Promise.allSettled([
        a.append(undefined, run.id, 1, [step(2, 1), step(3, 1)], { step: 1, updatedAt: T0 }),
        b.append(undefined, run.id, 1, [step(2, 7), step(3, 7)], { step: 7, updatedAt: T0 }),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      assert.ok(won.length <= 1, 'at most one append commits');
      for (const r of results)
        if (r.status === 'rejected') assert.equal((r.reason as { code: string }).code, 'RUN_CONFLICT');
      const header = await a.get(undefined, run.id);
      const events = await b.events(undefined, run.id);
      if (won.length === 0) {
        assert.equal(header?.seq, 1);
        assert.deepEqual(events, [start], 'no lost append is visible');
        continue;
      }
      const winner = (won[0] as PromiseFulfilledResult<{ step: number }>).value.step;
      assert.equal(header?.step, winner);
      assert.deepEqual(
        events.map((e) => (e.body.type === 'step-start' ? e.body.step : 0)),
        [0, winner, winner],
        'the events are the winner’s',
      );
    }
    await Promise.all([a.close(), b.close()]);
  });

  it('hides the leftovers of an append that never committed, and a later append replaces them', async () => {
    const s = await store();
    const run = sampleRun({ tenant: 'acme' });
    await s.create(run, [start]);
    // A writer that died between writing its events and committing the header.
    const kv = await new Kvm(one).open(natsKvRunBuckets(prefixOf.get(s) as string).runs);
    await kv.put(eventKey('acme', run.id, 2), JSON.stringify(step(2, 99)));
    assert.deepEqual(await s.events('acme', run.id), [start]);
    const next = await s.append('acme', run.id, 1, [step(2, 1)], { step: 1, updatedAt: T0 });
    assert.equal(next.seq, 2);
    assert.deepEqual(await s.events('acme', run.id), [start, step(2, 1)]);
    // And a create whose header never landed does not block creating that run again.
    const again = sampleRun();
    await kv.put(eventKey('', again.id, 1), JSON.stringify(step(1, 5)));
    await s.create(again, [start]);
    assert.deepEqual(await s.events(undefined, again.id), [start]);
  });

  it('decides an approval once across connections', async () => {
    const prefix = freshPrefix();
    const [a, b] = [await store(one, prefix), await store(two, prefix)];
    const run = sampleRun({ status: 'awaiting-approval' });
    await a.create(run, [start]);
    for (let i = 0; i < 5; i++) {
      const id = newApprovalId();
      await a.putApproval({
        id,
        runId: run.id,
        agentId: run.agentId,
        callId: `c${i}`,
        tool: 'refund',
        arguments: '{}',
        status: 'pending',
        requestedAt: T0,
      });
      const races = await Promise.allSettled([
        a.decideApproval(undefined, id, { status: 'approved', at: T0 }),
        b.decideApproval(undefined, id, { status: 'rejected', at: T0, reason: 'no' }),
      ]);
      assert.equal(races.filter((r) => r.status === 'fulfilled').length, 1, 'one decision wins');
    }
    await Promise.all([a.close(), b.close()]);
  });

  it('gives RUN_STORE_UNAVAILABLE, with the cause, once its connection is closed or the server is gone', async () => {
    const nc = await connect({ servers: NATS_URL });
    const s = await store(nc);
    await nc.close();
    const started = Date.now();
    const error = await rejectsWithCode(s.get(undefined, sampleRun().id), 'RUN_STORE_UNAVAILABLE');
    assert.ok((error as Error).cause !== undefined, 'the client error is attached');
    await rejectsWithCode(
      s.append(undefined, sampleRun().id, 1, [], { updatedAt: T0 }),
      'RUN_STORE_UNAVAILABLE',
    );
    assert.ok(Date.now() - started < 1_000, 'fast');
    await rejectsWithCode(
      NatsKvRunStore.open({ servers: '127.0.0.1:1', bucketPrefix: 'never', timeoutMs: 500 }),
      'RUN_STORE_UNAVAILABLE',
    );
    await rejectsWithCode(NatsKvRunStore.open({ connection: one, bucketPrefix: 'a.b' }), 'INVALID_OPTIONS');
  });

  it('gives RUN_STORE_UNAVAILABLE within its timeout when the server goes away mid-session', async () => {
    // A loopback proxy to the server, then pulled: the store's own connection is left reconnecting.
    const [host, port] = NATS_URL.split(':') as [string, string];
    const sockets = new Set<Socket>();
    const proxy = createServer((client) => {
      const upstream = createConnection(Number(port), host);
      client.pipe(upstream).pipe(client);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('error', () => {});
        socket.on('close', () => sockets.delete(socket));
      }
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const proxied = `127.0.0.1:${(proxy.address() as { port: number }).port}`;
    const bucketPrefix = freshPrefix();
    const s = await NatsKvRunStore.open({ servers: proxied, bucketPrefix, timeoutMs: 500 });
    const run = sampleRun();
    await s.create(run, [start]);
    await new Promise<void>((resolve) => {
      proxy.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
    const started = Date.now();
    await rejectsWithCode(s.get(undefined, run.id), 'RUN_STORE_UNAVAILABLE');
    await rejectsWithCode(s.append(undefined, run.id, 1, [], { updatedAt: T0 }), 'RUN_STORE_UNAVAILABLE');
    const took = Date.now() - started;
    assert.ok(took < 2_500, `two calls took ${took} ms with a 500 ms timeout`);
    await s.close();
  });
});
