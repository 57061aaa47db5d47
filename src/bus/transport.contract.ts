// The behaviour every transport must show through the Bus. Run by
// transports/memory.test.ts and by the NATS and MQTT integration tests.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { eventually, rejectsWithCode, sleep } from '../../test/helpers.ts';
import { Channel } from '../channel/index.ts';
import { withTenant } from '../context/index.ts';
import { AgentfleetError } from '../errors/index.ts';
import {
  type Bus,
  createBus,
  type DeadLetter,
  type Envelope,
  nextMessageId,
  type Transport,
} from './index.ts';

export interface ContractOptions {
  /** A new transport; transports made by one call of the suite reach each other. */
  connect: () => Promise<Transport>;
  /** True for transports that carry bytes (the dead-letter and codec tests apply). */
  wire: boolean;
  /** Skip reason (server missing). */
  skip?: string | undefined;
  /** A topic prefix covered by a durable stream (durable transports only). */
  durablePrefix?: string;
}

/** A gate a handler waits on, opened by the test. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

/**
 * Waits until every bus in `receivers` got a sentinel published by `publisher` after the
 * messages under test. Messages from one publisher reach one connection in order, so once the
 * sentinel is in, everything published before it that will ever reach that bus has arrived.
 */
async function barrier(receivers: Bus[], publisher: Bus, topic: string): Promise<void> {
  const seen = new Set<Bus>();
  const subs = await Promise.all(
    receivers.map((b) => b.subscribe(topic, () => void seen.add(b), { whenFull: 'drop-newest' })),
  );
  await publisher.publish(topic, 'sentinel');
  await eventually(() => seen.size === receivers.length, 5_000);
  await Promise.all(subs.map((s) => s.close()));
}

export function transportContract(name: string, options: ContractOptions): void {
  describe(`transport contract: ${name}`, { skip: options.skip }, () => {
    const buses: Bus[] = [];
    const prefix = `c${randomBytes(4).toString('hex')}`;
    let n = 0;
    const topic = (suffix: string) => `${prefix}.${++n}.${suffix}`;
    async function bus(extra: Parameters<typeof createBus>[0] = {}): Promise<Bus> {
      const b = createBus({ transport: await options.connect(), ...extra });
      buses.push(b);
      return b;
    }
    after(async () => {
      await Promise.all(buses.map((b) => b.close({ drain: false })));
    });

    it('delivers the envelope: id, topic, time, tenant, traceparent, headers, payload', async () => {
      const b = await bus();
      const t = topic('envelope');
      const got: Envelope[] = [];
      await b.subscribe(t, (m) => {
        got.push(m);
      });
      const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      const before = Date.now();
      await b.publish(t, { hello: 'world', n: 1 }, { headers: { k: 'v' }, tenant: 'acme', traceparent });
      await eventually(() => got.length === 1);
      const m = got[0] as Envelope;
      assert.equal(m.topic, t);
      assert.deepEqual(m.payload, { hello: 'world', n: 1 });
      assert.equal(m.tenant, 'acme');
      assert.equal(m.traceparent, traceparent);
      assert.deepEqual(m.headers, { k: 'v' });
      assert.ok(m.id.length > 0 && m.time >= before - 1);
    });

    it('matches * (one token) and > (one or more tokens)', async () => {
      const b = await bus();
      const base = topic('wild');
      const star: string[] = [];
      const rest: string[] = [];
      await b.subscribe(`${base}.*.x`, (m) => {
        star.push(m.topic);
      });
      await b.subscribe(`${base}.>`, (m) => {
        rest.push(m.topic);
      });
      for (const t of [`${base}.a.x`, `${base}.a.y`, `${base}.a.b.x`, base]) await b.publish(t, 1);
      await b.publish(`${base}.end`, 'last');
      await eventually(() => rest.length === 4);
      assert.deepEqual(star, [`${base}.a.x`]);
      assert.deepEqual(rest.sort(), [`${base}.a.b.x`, `${base}.a.x`, `${base}.a.y`, `${base}.end`].sort());
    });

    it('keeps one publisher’s order for one subscriber', async () => {
      const b = await bus();
      const t = topic('order');
      const got: number[] = [];
      await b.subscribe<number>(t, (m) => {
        got.push(m.payload);
      });
      for (let i = 0; i < 500; i++) await b.publish(t, i);
      await eventually(() => got.length === 500, 5_000);
      assert.deepEqual(
        got,
        Array.from({ length: 500 }, (_, i) => i),
      );
    });

    it('queue group: each message goes to exactly one member', async () => {
      const [a, c] = [await bus(), await bus()];
      const t = topic('queue');
      const seen: number[][] = [[], []];
      await a.subscribe<number>(t, (m) => void seen[0]?.push(m.payload), { queue: 'workers' });
      await c.subscribe<number>(t, (m) => void seen[1]?.push(m.payload), { queue: 'workers' });
      const publisher = await bus();
      for (let i = 0; i < 200; i++) await publisher.publish(t, i);
      await barrier([a, c], publisher, topic('sentinel'));
      await eventually(() => (seen[0]?.length ?? 0) + (seen[1]?.length ?? 0) === 200, 5_000);
      const all = [...(seen[0] ?? []), ...(seen[1] ?? [])].sort((x, y) => x - y);
      assert.deepEqual(
        all,
        Array.from({ length: 200 }, (_, i) => i),
        'each exactly once',
      );
      assert.ok((seen[0]?.length ?? 0) > 0 && (seen[1]?.length ?? 0) > 0, 'both members got work');
    });

    it('queue group shared by tenants: each message reaches a member of its own tenant, none lost', async () => {
      const t = topic('tenant-queue');
      const N = 40;
      const members = [await bus(), await bus(), await bus(), await bus()];
      const system = await bus();
      const got = new Map<string, Array<{ tenant: string | undefined; n: number }>>();
      const record = (who: string) => (m: Envelope<number>) => {
        const list = got.get(who) ?? [];
        list.push({ tenant: m.tenant, n: m.payload });
        got.set(who, list);
      };
      const tenants = ['ta', 'tb', 'ta', 'tb'] as const;
      for (const [i, member] of members.entries()) {
        const tenant = tenants[i] as string;
        await withTenant(tenant, () =>
          member.subscribe<number>(t, record(tenant), { queue: 'workers', whenFull: 'drop-newest' }),
        );
      }
      // A system-scope member of the same queue name is a group of its own: it gets every message.
      await system.subscribe<number>(t, record('system'), { queue: 'workers', whenFull: 'drop-newest' });
      const publisher = await bus();
      for (let i = 0; i < N; i++) {
        await publisher.publish(t, i, { tenant: 'ta' });
        await publisher.publish(t, i, { tenant: 'tb' });
      }
      await barrier([...members, system], publisher, topic('sentinel'));
      const handled = () => [...got.values()].reduce((sum, list) => sum + list.length, 0);
      await eventually(() => handled() === 4 * N, 5_000);
      const range = Array.from({ length: N }, (_, i) => i);
      for (const tenant of ['ta', 'tb']) {
        const mine = got.get(tenant) ?? [];
        assert.ok(
          mine.every((m) => m.tenant === tenant),
          `${tenant} members saw only ${tenant}`,
        );
        assert.deepEqual(
          mine.map((m) => m.n).sort((x, y) => x - y),
          range,
          `${tenant}: each message once`,
        );
      }
      const all = got.get('system') ?? [];
      assert.deepEqual(
        all.filter((m) => m.tenant === 'ta').map((m) => m.n),
        range,
      );
      assert.deepEqual(
        all.filter((m) => m.tenant === 'tb').map((m) => m.n),
        range,
      );
    });

    it('request/reply: the handler’s return value is the reply; errors come back typed', async () => {
      const b = await bus();
      const t = topic('rpc');
      await b.subscribe<{ a: number; b: number }>(t, (m) => {
        if (m.payload.a < 0) throw new AgentfleetError('NEGATIVE', 'a must be >= 0');
        return { sum: m.payload.a + m.payload.b };
      });
      const client = await bus();
      const reply = await client.request<{ sum: number }>(t, { a: 2, b: 3 }, { tenant: 'acme' });
      assert.deepEqual(reply.payload, { sum: 5 });
      assert.equal(reply.tenant, 'acme');
      const failure = await rejectsWithCode(client.request(t, { a: -1, b: 0 }), 'REQUEST_FAILED');
      assert.equal((failure.details?.remote as { code: string } | undefined)?.code, 'NEGATIVE');
      const many = await Promise.all(
        Array.from({ length: 50 }, (_, i) => client.request<{ sum: number }>(t, { a: i, b: 1 })),
      );
      assert.deepEqual(
        many.map((r) => r.payload.sum),
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
    });

    it('a request nobody answers fails with NO_RESPONDERS or REPLY_TIMEOUT, and can be aborted', async () => {
      const b = await bus();
      const t = topic('nobody');
      const code = b.transport.features.knowsResponders ? 'NO_RESPONDERS' : 'REPLY_TIMEOUT';
      await rejectsWithCode(b.request(t, 1, { timeout: 100 }), code);
      const g = gate();
      await b.subscribe(t, () => g.wait.then(() => 'late'), { concurrency: 4 });
      await rejectsWithCode(b.request(t, 1, { timeout: 50 }), 'REPLY_TIMEOUT');
      const controller = new AbortController();
      const pending = b.request(t, 1, { timeout: 10_000, signal: controller.signal });
      setTimeout(() => controller.abort(), 10);
      await rejectsWithCode(pending, 'ABORTED');
      assert.equal(b.stats().pendingRequests, 0);
      g.open();
    });

    for (const policy of ['drop-newest', 'drop-oldest'] as const) {
      it(`a full buffer with ${policy} drops and counts`, async () => {
        const b = await bus();
        const t = topic(policy);
        const g = gate();
        const got: number[] = [];
        const sub = await b.subscribe<number>(
          t,
          async (m) => {
            got.push(m.payload);
            await g.wait;
          },
          { buffer: 10, whenFull: policy },
        );
        for (let i = 0; i < 100; i++) await b.publish(t, i);
        await b.flush();
        await eventually(() => sub.stats().received === 100, 5_000);
        g.open();
        // Every message has arrived (received 100) and the buffer is empty: nothing more can come.
        await eventually(() => got.length >= 11 && sub.stats().pending === 0);
        assert.equal(sub.stats().dropped, 89);
        const expected =
          policy === 'drop-newest'
            ? [...Array(11).keys()]
            : [0, ...Array.from({ length: 10 }, (_, i) => 90 + i)];
        assert.deepEqual(got, expected);
        assert.equal(b.stats().dropped, 89);
      });
    }

    it('delivers into a channel, and into an async iterator; closing ends both', async () => {
      const b = await bus();
      const t = topic('chan');
      const ch = new Channel<Envelope<number>>(16);
      const viaChannel = await b.subscribe<number>(t, ch, { whenFull: 'drop-newest' });
      const viaIterator = await b.subscribe<number>(t, undefined, { whenFull: 'drop-newest' });
      for (let i = 0; i < 5; i++) await b.publish(t, i);
      await eventually(() => ch.length === 5 && viaIterator.stats().pending === 5);
      await viaChannel.close();
      await viaIterator.close();
      const fromChannel: number[] = [];
      for await (const m of ch) fromChannel.push(m.payload);
      const fromIterator: number[] = [];
      for await (const m of viaIterator) fromIterator.push(m.payload);
      assert.deepEqual(fromChannel, [0, 1, 2, 3, 4]);
      assert.deepEqual(fromIterator, [0, 1, 2, 3, 4]);
    });

    it('a throwing handler is counted and reported, and the subscription goes on', async () => {
      const b = await bus();
      const t = topic('throws');
      const errors: unknown[] = [];
      b.events.on('handlerError', ({ error }) => errors.push(error));
      const ok: number[] = [];
      const sub = await b.subscribe<number>(t, (m) => {
        if (m.payload % 2 === 0) throw new Error(`even ${m.payload}`);
        ok.push(m.payload);
      });
      for (let i = 0; i < 6; i++) await b.publish(t, i);
      await eventually(() => ok.length === 3);
      assert.equal(sub.stats().failed, 3);
      assert.equal(errors.length, 3);
    });

    it('rejects bad topics and options with typed errors', async () => {
      const b = await bus();
      await rejectsWithCode(b.publish('a..b', 1), 'INVALID_TOPIC');
      await rejectsWithCode(b.publish('a.*', 1), 'INVALID_TOPIC');
      await rejectsWithCode(b.publish('a/b', 1), 'INVALID_TOPIC');
      await rejectsWithCode(
        b.subscribe('a.>.b', () => {}),
        'INVALID_TOPIC',
      );
      await rejectsWithCode(
        b.subscribe('a', () => {}, { buffer: 0 }),
        'INVALID_OPTIONS',
      );
      await rejectsWithCode(b.publish('a', 1, { traceparent: 'nope' }), 'INVALID_OPTIONS');
    });

    if (options.wire) wireContract(bus, topic);
    if (options.durablePrefix !== undefined)
      durableContract(bus, () => `${options.durablePrefix}.${prefix}.${++n}`);

    it('close drains handlers, fails pending requests with BUS_CLOSED, then refuses work', async () => {
      const b = createBus({ transport: await options.connect() });
      const t = topic('close');
      const handled: number[] = [];
      await b.subscribe<number>(t, async (m) => {
        await sleep(1);
        handled.push(m.payload);
      });
      for (let i = 0; i < 20; i++) await b.publish(t, i);
      await eventually(() => b.stats().received === 20);
      const pending = b.request(topic('void'), 1, { timeout: 10_000 }).then(
        () => 'replied',
        (e: { code: string }) => e.code,
      );
      await b.close();
      assert.equal(handled.length, 20, 'buffered messages were handled before close resolved');
      assert.ok(['BUS_CLOSED', 'NO_RESPONDERS'].includes(await pending));
      await rejectsWithCode(b.publish(t, 1), 'BUS_CLOSED');
      await rejectsWithCode(
        b.subscribe(t, () => {}),
        'BUS_CLOSED',
      );
    });
  });
}

/** Bytes from outside: undecodable, oversized, and the other codec. */
function wireContract(
  bus: (o?: Parameters<typeof createBus>[0]) => Promise<Bus>,
  topic: (s: string) => string,
): void {
  it('undecodable and oversized messages go to the dead-letter topic and never reach the handler; plain JSON is a payload', async () => {
    const receiver = await bus({ maxMessageBytes: 1024 });
    const t = topic('dlq');
    const handled: unknown[] = [];
    await receiver.subscribe(t, (m) => void handled.push(m.payload), { whenFull: 'drop-newest' });
    const letters: DeadLetter[] = [];
    const watcher = await bus();
    await watcher.subscribe<DeadLetter>('_deadletter', (m) => void letters.push(m.payload), {
      whenFull: 'drop-newest',
    });
    const sender = await bus();
    const send = (data: Uint8Array) =>
      sender.transport.publish({
        envelope: {
          id: nextMessageId(),
          topic: t,
          time: Date.now(),
          tenant: undefined,
          traceparent: undefined,
          headers: {},
          replyTo: undefined,
          payload: null,
        },
        data,
      });
    await send(Buffer.from('not json {'));
    await send(Buffer.from('AF1 json some-id yesterday    \n{}'));
    await send(Buffer.from(`AF1 json some-id 1    \n"${'x'.repeat(2000)}"`));
    await send(Buffer.from([0xc1, 0xc1]));
    await send(Buffer.from('{"from":"a sensor"}'));
    await sender.publish(t, 'fine');
    await eventually(() => handled.length === 2 && letters.length >= 4, 5_000);
    assert.deepEqual(handled, [{ from: 'a sensor' }, 'fine']);
    assert.deepEqual(letters.map((l) => l.reason).sort(), [
      'MESSAGE_TOO_LARGE',
      'MESSAGE_UNDECODABLE',
      'MESSAGE_UNDECODABLE',
      'MESSAGE_UNDECODABLE',
    ]);
    assert.ok(letters.every((l) => l.topic === t && typeof l.sample === 'string'));
    assert.equal(receiver.stats().deadLettered, 4);
  });

  it('refuses to send a message over maxMessageBytes', async () => {
    const b = await bus({ maxMessageBytes: 256 });
    await rejectsWithCode(b.publish(topic('big'), 'x'.repeat(1000)), 'MESSAGE_TOO_LARGE');
  });

  it('a MessagePack publisher and a JSON subscriber understand each other (binary payloads too)', async () => {
    const sender = await bus({ codec: 'msgpack' });
    const receiver = await bus();
    const t = topic('msgpack');
    const got: unknown[] = [];
    await receiver.subscribe(t, (m) => void got.push(m.payload), { whenFull: 'drop-newest' });
    await sender.publish(t, { n: 1, bytes: new Uint8Array([1, 2, 3]) });
    await eventually(() => got.length === 1);
    assert.deepEqual(got[0], { n: 1, bytes: new Uint8Array([1, 2, 3]) });
  });
}

/** At-least-once with explicit ack, redelivery, and subscriber-side dedupe. */
function durableContract(
  bus: (o?: Parameters<typeof createBus>[0]) => Promise<Bus>,
  topic: () => string,
): void {
  it('durable: a handler that throws gets the message again; given up after maxDeliver → dead letter', async () => {
    const b = await bus();
    const t = topic();
    const attempts = new Map<string, number>();
    const letters: DeadLetter[] = [];
    b.events.on('deadLetter', (l) => letters.push(l));
    await b.subscribe<string>(
      t,
      (m) => {
        const count = (attempts.get(m.payload) ?? 0) + 1;
        attempts.set(m.payload, count);
        if (m.payload === 'poison' || count === 1) throw new Error('not yet');
      },
      { durable: { name: `d${randomBytes(3).toString('hex')}`, maxDeliver: 3, ackWaitMs: 1_000 } },
    );
    await b.publish(t, 'flaky');
    await b.publish(t, 'poison');
    await eventually(() => attempts.get('flaky') === 2 && letters.length === 1, 10_000);
    assert.equal(attempts.get('poison'), 3);
    assert.equal(letters[0]?.reason, 'HANDLER_FAILED');
  });

  it('durable name shared by tenants: each tenant gets exactly its own messages, none lost', async () => {
    const t = topic();
    const durable = { name: `d${randomBytes(3).toString('hex')}`, maxDeliver: 1 };
    const N = 20;
    const got = new Map<string, string[]>();
    for (const tenant of ['ta', 'tb', 'ta', 'tb']) {
      const b = await bus();
      await withTenant(tenant, () =>
        b.subscribe<string>(
          t,
          (m) => {
            got.set(tenant, [...(got.get(tenant) ?? []), `${m.tenant}:${m.payload}`]);
          },
          { durable, dedupe: true },
        ),
      );
    }
    const publisher = await bus();
    for (const tenant of ['ta', 'tb']) {
      for (let i = 0; i < N; i++) await publisher.publish(t, String(i), { tenant });
    }
    await publisher.publish(t, 'end', { tenant: 'ta' });
    await publisher.publish(t, 'end', { tenant: 'tb' });
    const expected = (tenant: string) =>
      [...Array.from({ length: N }, (_, i) => `${tenant}:${i}`), `${tenant}:end`].sort();
    // Two members share each tenant's consumer and take turns: one may handle "end" while the
    // other still works through the messages before it, so wait for the whole set, not "end".
    await eventually(() => ['ta', 'tb'].every((x) => (got.get(x)?.length ?? 0) >= N + 1), 10_000).catch(
      () => {}, // the assertion below names what is missing
    );
    await new Promise((r) => setTimeout(r, 50)); // a duplicate or a foreign message would land now
    for (const tenant of ['ta', 'tb']) {
      assert.deepEqual([...(got.get(tenant) ?? [])].sort(), expected(tenant));
    }
  });

  it('durable + dedupe: an id already handled is acked without calling the handler', async () => {
    const b = await bus();
    const t = topic();
    const durable = `d${randomBytes(3).toString('hex')}`;
    const handled: string[] = [];
    const sub = await b.subscribe<string>(t, (m) => void handled.push(m.payload), { durable, dedupe: true });
    await b.publish(t, 'first', { id: 'same-id-1' });
    await eventually(() => handled.length === 1, 5_000);
    await b.publish(t, 'retry', { id: 'same-id-1' });
    await b.publish(t, 'other', { id: 'same-id-2' });
    // The consumer hands messages over in stream order, one at a time: once 'other' is handled,
    // 'retry' (stored before it, if the server kept it at all) has been skipped.
    await eventually(() => handled.includes('other'), 5_000);
    assert.deepEqual(handled, ['first', 'other']);
    assert.ok(
      sub.stats().duplicates <= 1,
      'a publish-side duplicate is dropped by the server or skipped here',
    );
  });
}
