import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setImmediate } from 'node:timers/promises';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { jsonCodec } from '../../src/bus/codec.ts';
import { type Envelope, nextMessageId } from '../../src/bus/envelope.ts';
import { codecLookup, decodeFrame, encodeFrame } from '../../src/bus/frame.ts';
import type {
  Delivery,
  DurableOptions,
  Transport,
  TransportSink,
  TransportSubscription,
} from '../../src/bus/transport.ts';
import { type NatsTransport, natsTransport } from '../../src/bus/transports/nats.ts';
import { bucketName } from '../../src/bus/transports/nats-idempotency.ts';
import { eventually, liveResources, rejectsWithCode, sleep } from '../helpers.ts';
import { NATS_URL, serverSkipReason } from './servers.ts';

const skip = await serverSkipReason('NATS', 4222);

interface Received {
  topic: string;
  data: Uint8Array;
  envelope: Envelope;
  delivery: Delivery | undefined;
}

/** A sink that records what arrives; `hold` makes `receive` return a promise (backpressure). */
function recorder(hold?: Promise<void>): { got: Received[]; sink: TransportSink } {
  const got: Received[] = [];
  const sink: TransportSink = {
    deliver() {
      throw new Error('a wire transport hands over bytes');
    },
    receive(topic, data, delivery) {
      got.push({ topic, data, envelope: decodeFrame(data, topic, codecLookup(jsonCodec)), delivery });
      return hold;
    },
    fail() {
      // A consumer lost when the test's stream is deleted at the end.
    },
  };
  return { got, sink };
}

function envelope(topic: string, payload: unknown, extra: Partial<Envelope> = {}): Envelope {
  return {
    id: nextMessageId(),
    topic,
    time: Date.now(),
    tenant: undefined,
    traceparent: undefined,
    headers: {},
    replyTo: undefined,
    payload,
    ...extra,
  };
}

function send(transport: Transport, e: Envelope): void | Promise<void> {
  return transport.publish({ envelope: e, data: encodeFrame(e, jsonCodec) });
}

const plain = { queue: undefined, durable: undefined };

describe('NATS transport', { skip }, () => {
  const run = randomBytes(4).toString('hex');
  const prefix = `nt${run}`;
  const stream = `nt_${run}`;
  const storedPrefix = `${prefix}.stored`;
  const streams = [{ name: stream, subjects: [`${storedPrefix}.>`], duplicateWindowMs: 60_000 }];
  const dedupeNames: string[] = [];
  let n = 0;
  const topic = (suffix: string) => `${prefix}.${++n}.${suffix}`;
  const storedTopic = (suffix: string) => `${storedPrefix}.${++n}.${suffix}`;
  const durable = (overrides: Partial<DurableOptions> = {}): DurableOptions => ({
    name: `d${run}_${++n}`,
    ackWaitMs: 1_000,
    maxDeliver: 5,
    maxInFlight: 200,
    ...overrides,
  });
  let a: NatsTransport;
  let b: NatsTransport;
  let jsm: JetStreamManager;

  before(async () => {
    a = await natsTransport({ servers: NATS_URL, name: 'nats-transport-test-a', streams });
    b = await natsTransport({ servers: NATS_URL, name: 'nats-transport-test-b', streams });
    jsm = await jetstreamManager(a.connection);
  });

  /** Polls `condition` until it holds (a server-side state, not a time), failing after 10 s. */
  async function until(condition: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!(await condition())) {
      assert.ok(Date.now() < deadline, 'the condition did not hold in time');
      await sleep(10);
    }
  }

  /**
   * Acks whatever `got` holds until the consumer has nothing pending and nothing awaiting an
   * ack: from then on nothing more can be delivered to it.
   */
  async function quiet(consumer: string, got: Received[]): Promise<void> {
    const acked = new Set<Received>();
    await until(async () => {
      for (const r of got) {
        if (acked.has(r)) continue;
        acked.add(r);
        await r.delivery?.ack();
      }
      const info = await jsm.consumers.info(stream, consumer);
      return info.num_pending === 0 && info.num_ack_pending === 0 && acked.size === got.length;
    });
  }

  after(async () => {
    await jsm.streams.delete(stream);
    for (const name of dedupeNames) await jsm.streams.delete(`KV_${bucketName(name)}`).catch(() => false);
    await Promise.all([a.close(), b.close()]);
  });

  it('reports its features', () => {
    assert.equal(a.name, 'nats');
    assert.deepEqual(a.features, { wire: true, durable: true, blockPublisher: false, knowsResponders: true });
  });

  it('core pub/sub matches * (one token) and > (one or more tokens)', async () => {
    const base = topic('wild');
    const star = recorder();
    const rest = recorder();
    await b.subscribe(`${base}.*.x`, plain, star.sink);
    await b.subscribe(`${base}.>`, plain, rest.sink);
    for (const t of [`${base}.a.x`, `${base}.a.y`, `${base}.a.b.x`, base]) await send(a, envelope(t, t));
    await send(a, envelope(`${base}.end`, 'last'));
    // One publisher, one subscriber connection: the sentinel comes after everything sent before it.
    await send(a, envelope(`${base}.sentinel.x`, 'sentinel'));
    await eventually(() => star.got.length === 2 && rest.got.length === 5);
    assert.deepEqual(
      star.got.map((r) => r.topic),
      [`${base}.a.x`, `${base}.sentinel.x`],
    );
    rest.got.pop();
    assert.deepEqual(rest.got.map((r) => r.topic).sort(), [
      `${base}.a.b.x`,
      `${base}.a.x`,
      `${base}.a.y`,
      `${base}.end`,
    ]);
    const first = star.got[0] as Received;
    assert.equal(first.envelope.payload, `${base}.a.x`);
    assert.equal(first.delivery, undefined);
  });

  it('a throwing sink does not break the subscription', async () => {
    const t = topic('throws');
    let calls = 0;
    await b.subscribe(t, plain, {
      deliver() {},
      fail() {},
      receive() {
        calls++;
        if (calls === 1) throw new Error('boom');
        return Promise.reject(new Error('ignored'));
      },
    });
    await send(a, envelope(t, 1));
    await send(a, envelope(t, 2));
    await eventually(() => calls === 2);
  });

  it('queue group: each message goes to exactly one member', async () => {
    const t = topic('queue');
    const one = recorder();
    const two = recorder();
    await a.subscribe(t, { queue: 'workers', durable: undefined }, one.sink);
    await b.subscribe(t, { queue: 'workers', durable: undefined }, two.sink);
    for (let i = 0; i < 200; i++) await send(a, envelope(t, i));
    const sentinels = [recorder(), recorder()];
    await a.subscribe(`${t}.sentinel`, plain, sentinels[0]!.sink);
    await b.subscribe(`${t}.sentinel`, plain, sentinels[1]!.sink);
    await send(a, envelope(`${t}.sentinel`, 'sentinel'));
    // Both connections got the sentinel, so every copy of the 200 that was ever coming is in.
    await eventually(() => sentinels.every((r) => r.got.length === 1), 5_000);
    const all = [...one.got, ...two.got].map((r) => r.envelope.payload as number).sort((x, y) => x - y);
    assert.deepEqual(
      all,
      Array.from({ length: 200 }, (_, i) => i),
    );
    assert.ok(one.got.length > 0 && two.got.length > 0, 'both members got work');
  });

  it('a request to a topic nobody listens on fails with NO_RESPONDERS; with a listener it goes out', async () => {
    const t = topic('rpc');
    const replyTo = `_INBOX.${run}.1`;
    await rejectsWithCode(Promise.resolve(send(a, envelope(t, 1, { replyTo }))), 'NO_RESPONDERS');
    const responder = recorder();
    await b.subscribe(t, plain, responder.sink);
    await send(a, envelope(t, 2, { replyTo }));
    await eventually(() => responder.got.length === 1);
    assert.equal(responder.got[0]?.envelope.replyTo, replyTo);
  });

  it('durable: unacked messages are redelivered to the next subscriber with the same name', async () => {
    const t = storedTopic('redeliver');
    for (let i = 0; i < 100; i++) await send(a, envelope(t, i));
    const options = { queue: undefined, durable: durable() };
    const first = recorder();
    const sub = await b.subscribe(t, options, first.sink);
    await eventually(() => first.got.length === 100, 5_000);
    assert.ok(first.got.every((r) => r.delivery?.attempt === 1 && r.topic === t));
    await Promise.all(first.got.filter((_, i) => i % 2 === 0).map((r) => r.delivery?.ack()));
    await sub.close();

    const second = recorder();
    const again = await b.subscribe(t, options, second.sink);
    await eventually(() => second.got.length >= 50, 10_000);
    await quiet(options.durable.name, second.got);
    assert.deepEqual(
      [...new Set(second.got.map((r) => r.envelope.payload as number))].sort((x, y) => x - y),
      Array.from({ length: 50 }, (_, i) => i * 2 + 1),
      'exactly the unacked ones came again',
    );
    assert.ok(second.got.every((r) => (r.delivery?.attempt ?? 0) >= 2));
    await again.close();
  });

  it('durable: nak redelivers, term does not', async () => {
    const t = storedTopic('nak');
    const got = recorder();
    const options = { queue: undefined, durable: durable({ ackWaitMs: 30_000 }) };
    const sub = await b.subscribe(t, options, got.sink);
    await send(a, envelope(t, 'retry'));
    await send(a, envelope(t, 'poison'));
    await eventually(() => got.got.length === 2, 5_000);
    for (const r of got.got) {
      if (r.envelope.payload === 'retry') r.delivery?.nak();
      else r.delivery?.term('poison');
    }
    await eventually(() => got.got.length === 3, 5_000);
    const redelivered = got.got[2] as Received;
    assert.equal(redelivered.envelope.payload, 'retry');
    assert.equal(redelivered.delivery?.attempt, 2);
    await redelivered.delivery?.ack();
    await quiet(options.durable.name, []);
    assert.equal(got.got.length, 3, 'the termed message did not come again');
    await sub.close();
  });

  it('durable: a pending sink promise pauses delivery', async () => {
    const t = storedTopic('backpressure');
    let open!: () => void;
    const held = recorder(new Promise<void>((resolve) => (open = resolve)));
    const options = { queue: undefined, durable: durable() };
    const sub = await b.subscribe(t, options, held.sink);
    for (let i = 0; i < 5; i++) await send(a, envelope(t, i));
    // All 5 were sent to b's client (ack pending), and b's client read everything the server
    // sent before answering the flush; only the first was handed over, the rest wait.
    await until(async () => {
      const info = await jsm.consumers.info(stream, options.durable.name);
      return info.num_pending === 0 && info.num_ack_pending === 5;
    });
    await b.connection.flush();
    await setImmediate();
    assert.equal(held.got.length, 1);
    open();
    await eventually(() => held.got.length === 5, 5_000);
    await Promise.all(held.got.map((r) => r.delivery?.ack()));
    await sub.close();
  });

  it('durable: subscribers with the same name share the work', async () => {
    const t = storedTopic('shared');
    const options = { queue: undefined, durable: durable() };
    const one = recorder();
    const two = recorder();
    const subs = [await a.subscribe(t, options, one.sink), await b.subscribe(t, options, two.sink)];
    for (let i = 0; i < 200; i++) await send(a, envelope(t, i));
    await eventually(() => one.got.length + two.got.length === 200, 5_000);
    await Promise.all([...one.got, ...two.got].map((r) => r.delivery?.ack()));
    const all = [...one.got, ...two.got].map((r) => r.envelope.payload as number).sort((x, y) => x - y);
    assert.deepEqual(
      all,
      Array.from({ length: 200 }, (_, i) => i),
    );
    await Promise.all(subs.map((s) => s.close()));
  });

  it('publisher-side dedupe: the same envelope id is stored once', async () => {
    const t = storedTopic('dedupe');
    const e = envelope(t, 'once');
    const stored = async () =>
      (await jsm.streams.info(stream, { subjects_filter: t })).state.subjects?.[t] ?? 0;
    await send(a, e);
    await send(a, e);
    await send(b, e);
    assert.equal(await stored(), 1);
    await send(a, envelope(t, 'other'));
    assert.equal(await stored(), 2);
  });

  it('updates a configured stream whose settings changed at connect', async () => {
    const changed = await natsTransport({
      servers: NATS_URL,
      streams: [{ ...streams[0]!, subjects: [`${storedPrefix}.>`, `${prefix}.extra`], maxAgeMs: 3_600_000 }],
    });
    try {
      const config = (await (await jetstreamManager(changed.connection)).streams.info(stream)).config;
      assert.deepEqual(config.subjects, [`${storedPrefix}.>`, `${prefix}.extra`]);
      assert.equal(config.max_age, 3_600_000 * 1e6);
      assert.equal(config.duplicate_window, 60_000 * 1e6);
    } finally {
      await changed.close();
    }
  });

  it('rejects bad options with INVALID_OPTIONS', async () => {
    await rejectsWithCode(natsTransport({ servers: 42 as unknown as string }), 'INVALID_OPTIONS');
    await rejectsWithCode(natsTransport({ servers: [] }), 'INVALID_OPTIONS');
    await rejectsWithCode(natsTransport({ streams: [{ name: 'a.b', subjects: ['x'] }] }), 'INVALID_OPTIONS');
    await rejectsWithCode(
      natsTransport({ streams: [{ name: 'ok', subjects: ['a..b'] }] }),
      'INVALID_OPTIONS',
    );
    await rejectsWithCode(natsTransport({ streams: [{ name: 'ok', subjects: [] }] }), 'INVALID_OPTIONS');
    await rejectsWithCode(
      natsTransport({
        streams: [{ name: 'ok', subjects: ['x'], maxAgeMs: 1_000, duplicateWindowMs: 5_000 }],
      }),
      'INVALID_OPTIONS',
    );
    const failure = await rejectsWithCode(
      b.subscribe(topic('nostream'), { queue: undefined, durable: durable() }, recorder().sink),
      'INVALID_OPTIONS',
    );
    assert.match(failure.message, /stream/);
    await rejectsWithCode(
      b.subscribe(`${prefix}.>`, { queue: undefined, durable: durable() }, recorder().sink),
      'INVALID_OPTIONS',
    );
  });

  it('fails to connect with TRANSPORT_FAILED, and honours an aborted signal', async () => {
    await rejectsWithCode(natsTransport({ servers: '127.0.0.1:1' }), 'TRANSPORT_FAILED');
    await rejectsWithCode(natsTransport({ servers: NATS_URL, signal: AbortSignal.abort() }), 'ABORTED');
    const controller = new AbortController();
    const connecting = natsTransport({ servers: NATS_URL, streams, signal: controller.signal });
    controller.abort();
    await rejectsWithCode(connecting, 'ABORTED');
    await sleep(200);
  });

  it('close is idempotent, refuses work afterwards and leaves no live resources', async () => {
    await sleep(50);
    const baseline = liveResources();
    const t = await natsTransport({ servers: NATS_URL, streams });
    const subs: TransportSubscription[] = [
      await t.subscribe(topic('res'), plain, recorder().sink),
      await t.subscribe(storedTopic('res'), { queue: undefined, durable: durable() }, recorder().sink),
    ];
    await rejectsWithCode(
      Promise.resolve(send(t, envelope(topic('res'), 1, { replyTo: `_INBOX.${run}.2` }))),
      'NO_RESPONDERS',
    );
    await send(t, envelope(storedTopic('res'), 1));
    const name = `res.${run}`;
    dedupeNames.push(name);
    await (await t.idempotencyStore(name, 1_000)).add('x');
    await t.flush();
    await subs[0]?.close();
    await Promise.all([t.close(), t.close()]);
    await t.close();
    assert.throws(() => send(t, envelope(topic('res'), 1)), { code: 'BUS_CLOSED' });
    await rejectsWithCode(t.subscribe(topic('res'), plain, recorder().sink), 'BUS_CLOSED');
    assert.deepEqual(liveResources(), baseline);
  });
});
