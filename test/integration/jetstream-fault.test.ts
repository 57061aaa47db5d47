// Fault test: a durable JetStream consumer in a child process is killed with SIGKILL in the
// middle of 100,000 messages and restarted. Every message must be processed at least once
// (none lost) and, with dedupe on and effects published under ids derived from the message
// id, no effect may be committed twice.
import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { codecLookup, createBus, decodeFrame, type Envelope, jsonCodec } from '../../src/bus/index.ts';
import { natsTransport } from '../../src/bus/transports/nats.ts';
import { eventually, sleep } from '../helpers.ts';
import { NATS_URL, serverSkipReason } from './servers.ts';

const MESSAGES = Number(process.env.FAULT_MESSAGES ?? 100_000);
const KILL_AFTER = Math.floor(MESSAGES * 0.3);
const skip = await serverSkipReason('NATS', 4222);
const consumerScript = new URL('./fixtures/jetstream-consumer.ts', import.meta.url).pathname;

function startConsumer(prefix: string, durable: string, log: string): Promise<ChildProcess> {
  const child = fork(consumerScript, [prefix, durable, log], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`consumer exited early with ${code}`)));
  });
}

describe('JetStream consumer killed with SIGKILL mid-stream', { skip, timeout: 600_000 }, () => {
  const prefix = `fault${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'agentfleet-fault-'));
  const streams = [
    { name: `${prefix}_IN`, subjects: [`${prefix}.in`] },
    { name: `${prefix}_DONE`, subjects: [`${prefix}.done`] },
  ];
  after(async () => {
    const nc = await connect({ servers: NATS_URL });
    const jsm = await jetstreamManager(nc);
    for (const s of streams) await jsm.streams.delete(s.name).catch(() => {});
    await nc.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`processes all ${MESSAGES} messages at least once and commits each effect exactly once`, async () => {
    const nc = await connect({ servers: NATS_URL });
    const jsm = await jetstreamManager(nc);
    const bus = createBus({ transport: await natsTransport({ servers: NATS_URL, streams }) });
    const started = performance.now();
    for (let i = 0; i < MESSAGES; i += 1_000) {
      const batch = [];
      for (let seq = i; seq < Math.min(MESSAGES, i + 1_000); seq++)
        batch.push(bus.publish(`${prefix}.in`, { seq }));
      await Promise.all(batch);
    }
    const publishMs = performance.now() - started;
    const doneCount = async () => (await jsm.streams.info(`${prefix}_DONE`)).state.messages;

    const log = join(dir, 'handled.log');
    const durable = `${prefix}_worker`;
    const first = await startConsumer(prefix, durable, log);
    while ((await doneCount()) < KILL_AFTER) await sleep(20);
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const atKill = await doneCount();

    const consumeStarted = performance.now();
    const second = await startConsumer(prefix, durable, log);
    // Polls for a state (everything committed, nothing pending); the suite's timeout bounds it.
    for (;;) {
      const info = await jsm.consumers.info(`${prefix}_IN`, durable);
      if ((await doneCount()) >= MESSAGES && info.num_pending === 0 && info.num_ack_pending === 0) break;
      await sleep(50);
    }
    second.send('stop');
    const { stats } = await new Promise<{ stats: Record<string, number> }>((resolve) =>
      second.once('message', resolve as never),
    );
    await new Promise((resolve) => second.once('exit', resolve));

    const stored = await doneCount();
    const done: number[] = [];
    const consumer = await jetstream(nc).consumers.get(`${prefix}_DONE`);
    const messages = await consumer.consume();
    for await (const m of messages) {
      const envelope = decodeFrame(m.data, m.subject, codecLookup(jsonCodec)) as Envelope<{ seq: number }>;
      done.push(envelope.payload.seq);
      if (done.length >= stored) break;
    }
    await messages.close();
    const runs = readFileSync(log, 'utf8').trim().split('\n').map(Number);
    const unique = new Set(runs);
    const figures = {
      messages: MESSAGES,
      publishPerSec: Math.round(MESSAGES / (publishMs / 1000)),
      committedAtKill: atKill,
      handlerRuns: runs.length,
      handlerReruns: runs.length - unique.size,
      skippedAsDuplicates: stats.duplicates,
      effectsCommitted: done.length,
      distinctEffects: new Set(done).size,
      secondConsumerMs: Math.round(performance.now() - consumeStarted),
    };
    console.log(`JSON: ${JSON.stringify({ name: 'jetstream-fault', figures })}`);

    assert.equal(unique.size, MESSAGES, 'every message was handled at least once');
    for (let seq = 0; seq < MESSAGES; seq++) assert.ok(unique.has(seq), `message ${seq} was lost`);
    assert.equal(done.length, MESSAGES, 'each effect committed exactly once');
    assert.equal(new Set(done).size, MESSAGES);
    await bus.close();
    await nc.close();
  });
});

/**
 * Deletes a consumer. Under load nats-server sometimes fails to remove the consumer's folder
 * ("unlinkat …: directory not empty") while it still writes to it; the delete then succeeds on
 * a retry (or finds the consumer gone).
 */
async function deleteConsumer(
  jsm: Awaited<ReturnType<typeof jetstreamManager>>,
  stream: string,
  name: string,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await jsm.consumers.delete(stream, name);
      return;
    } catch (error) {
      if (/not found/i.test(String(error))) return;
      if (attempt >= 4 || !/directory not empty/.test(String(error))) throw error;
      await sleep(100);
    }
  }
}

describe('JetStream consumer or stream deleted under a durable subscription', {
  skip,
  timeout: 120_000,
}, () => {
  const prefix = `lost${randomBytes(4).toString('hex')}`;
  const streams = [
    { name: `${prefix}_C`, subjects: [`${prefix}.c.>`] },
    { name: `${prefix}_S`, subjects: [`${prefix}.s.>`] },
  ];
  after(async () => {
    const nc = await connect({ servers: NATS_URL });
    const jsm = await jetstreamManager(nc);
    for (const s of streams) await jsm.streams.delete(s.name).catch(() => {});
    await nc.close();
  });

  it('a deleted consumer is recreated and the subscription goes on', async (t) => {
    const bus = createBus({ transport: await natsTransport({ servers: NATS_URL, streams }) });
    const nc = await connect({ servers: NATS_URL });
    // Closed even when an assertion fails: an open connection would keep this file's process alive.
    t.after(() => Promise.all([bus.close(), nc.close()]));
    const jsm = await jetstreamManager(nc);
    const durable = `${prefix}_c`;
    const handled: string[] = [];
    const sub = await bus.subscribe<string>(`${prefix}.c.>`, (m) => void handled.push(m.payload), {
      durable,
    });
    await bus.publish(`${prefix}.c.x`, 'before');
    await eventually(() => handled.includes('before'), 10_000);
    await deleteConsumer(jsm, `${prefix}_C`, durable);
    await bus.publish(`${prefix}.c.x`, 'after');
    await eventually(() => handled.includes('after'), 60_000);
    assert.equal(sub.error, undefined);
    assert.equal(bus.stats().lost, 0);
    assert.ok((await jsm.consumers.info(`${prefix}_C`, durable)).name === durable, 'recreated');
  });

  it('a deleted stream ends the subscription with SUBSCRIPTION_LOST, reported on the bus', async (t) => {
    const bus = createBus({ transport: await natsTransport({ servers: NATS_URL, streams }) });
    const nc = await connect({ servers: NATS_URL });
    t.after(() => Promise.all([bus.close(), nc.close()]));
    const jsm = await jetstreamManager(nc);
    const handled: string[] = [];
    const sub = await bus.subscribe<string>(`${prefix}.s.>`, (m) => void handled.push(m.payload), {
      durable: `${prefix}_s`,
    });
    await bus.publish(`${prefix}.s.x`, 'before');
    await eventually(() => handled.length === 1, 10_000);
    const lost = once(bus.events, 'subscriptionLost');
    await jsm.streams.delete(`${prefix}_S`);
    const [{ error, pattern }] = (await lost) as [{ error: { code: string }; pattern: string }];
    assert.equal(error.code, 'SUBSCRIPTION_LOST');
    assert.equal(pattern, `${prefix}.s.>`);
    assert.equal((sub.error as { code?: string } | undefined)?.code, 'SUBSCRIPTION_LOST');
    await eventually(() => bus.stats().subscriptions === 0);
    assert.equal(bus.stats().lost, 1);
  });
});
