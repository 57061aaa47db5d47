import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { eventually, liveResources, rejectsWithCode, sleep, throwsWithCode } from '../../test/helpers.ts';
import {
  createBus,
  type Envelope,
  MemoryTransport,
  SubscriptionLostError,
  type TransportSink,
  type TransportSubscribeOptions,
  type TransportSubscription,
} from './index.ts';

describe('Bus (in memory)', () => {
  it('block: a full subscriber holds the publisher back until it catches up', async () => {
    const bus = createBus();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const got: number[] = [];
    const sub = await bus.subscribe<number>(
      'work',
      async (m) => {
        await gate;
        got.push(m.payload);
      },
      { buffer: 4 },
    );
    const publishes = Array.from({ length: 10 }, (_, i) => bus.publish('work', i));
    // A publish the transport took at once returns the one settled promise every such publish shares.
    const atOnce = bus.publish('nobody.listens', 0);
    assert.equal(
      publishes.filter((p) => p === atOnce).length,
      5,
      '1 in the handler + 4 buffered; the other publishes wait',
    );
    assert.equal(sub.stats().pending, 4);
    release();
    await Promise.all(publishes);
    await eventually(() => got.length === 10);
    assert.deepEqual(got, [...Array(10).keys()]);
    assert.equal(bus.stats().dropped, 0);
    await bus.close();
  });

  it('a publish that completes at once allocates no promise', async () => {
    const bus = createBus();
    await bus.subscribe('x', () => {});
    assert.equal(bus.publish('x', 1), bus.publish('x', 2));
    await bus.close();
  });

  it('fills tenant and trace from the context hook unless the publish sets them', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const bus = createBus({ context: () => ({ tenant: 'ambient', traceparent }) });
    const got: Envelope[] = [];
    await bus.subscribe('t', (m) => void got.push(m));
    await bus.publish('t', 1);
    await bus.publish('t', 2, { tenant: 'explicit' });
    await eventually(() => got.length === 2);
    assert.deepEqual(
      got.map((m) => [m.tenant, m.traceparent]),
      [
        ['ambient', traceparent],
        ['explicit', traceparent],
      ],
    );
    await bus.close();
  });

  it('handles `concurrency` messages at once', async () => {
    const bus = createBus();
    let running = 0;
    let peak = 0;
    await bus.subscribe(
      'c',
      async () => {
        peak = Math.max(peak, ++running);
        await sleep(5);
        running--;
      },
      { concurrency: 3 },
    );
    await Promise.all(Array.from({ length: 12 }, (_, i) => bus.publish('c', i)));
    await eventually(() => bus.stats().delivered === 12);
    assert.equal(peak, 3);
    await bus.close();
  });

  it('the subscription signal closes it', async () => {
    const bus = createBus();
    const controller = new AbortController();
    const got: number[] = [];
    await bus.subscribe<number>('s', (m) => void got.push(m.payload), { signal: controller.signal });
    await bus.publish('s', 1);
    controller.abort();
    await eventually(() => bus.stats().subscriptions === 0);
    await bus.publish('s', 2).catch(() => {});
    assert.deepEqual(got, [1]);
    await bus.close();
  });

  it('rejects options the memory transport cannot honour, and bad bus options', async () => {
    const bus = createBus();
    await rejectsWithCode(
      bus.subscribe('d', () => {}, { durable: 'x' }),
      'INVALID_OPTIONS',
    );
    await rejectsWithCode(
      bus.subscribe('d', () => {}, { dedupe: true }),
      'INVALID_OPTIONS',
    );
    await rejectsWithCode(
      bus.subscribe('d', () => {}, { whenFull: 'sometimes' as 'block' }),
      'INVALID_OPTIONS',
    );
    await rejectsWithCode(bus.publish('p', 1, { id: 'has space' }), 'INVALID_OPTIONS');
    await rejectsWithCode(bus.publish('p', 1, { id: '' }), 'INVALID_OPTIONS');
    await rejectsWithCode(bus.publish('p', 1, { tenant: 'a\nb' }), 'INVALID_OPTIONS');
    await rejectsWithCode(bus.publish('p', 1, { headers: { n: 1 as unknown as string } }), 'INVALID_OPTIONS');
    await rejectsWithCode(bus.publish('p', 1, { traceparent: 'nope' }), 'INVALID_OPTIONS');
    throwsWithCode(
      () => createBus({ codec: { name: 'bad name', encode: () => new Uint8Array(), decode: () => 0 } }),
      'INVALID_OPTIONS',
    );
    throwsWithCode(() => createBus({ maxMessageBytes: -1 }), 'INVALID_OPTIONS');
    throwsWithCode(() => createBus({ deadLetterTopic: 'a.*' }), 'INVALID_TOPIC');
    await bus.close();
  });

  it('close leaves no timers behind, even with requests pending', async () => {
    const bus = createBus();
    await bus.subscribe('slow', () => sleep(5).then(() => 'done'));
    const pending = bus.request('slow', 1, { timeout: 60_000 });
    await bus.close();
    await rejectsWithCode(pending, 'BUS_CLOSED');
    assert.equal(liveResources().Timeout ?? 0, 0);
  });

  it('a handler gets a signal that is aborted when its subscription closes', async () => {
    const bus = createBus();
    const signals: AbortSignal[] = [];
    const sub = await bus.subscribe('sig', (_m, { signal }) => void signals.push(signal));
    await bus.publish('sig', 1);
    await eventually(() => signals.length === 1);
    assert.equal(signals[0]?.aborted, false);
    await sub.close();
    assert.equal(signals[0]?.aborted, true);
    assert.equal((signals[0]?.reason as { code?: string } | undefined)?.code, 'ABORTED');
    await bus.close();
  });

  it('close({ drain: false }) aborts running handlers and does not wait past its deadline for one that ignores the signal', async () => {
    const bus = createBus();
    let seen: AbortSignal | undefined;
    let started!: () => void;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    await bus.subscribe('stuck', (_m, { signal }) => {
      seen = signal;
      started();
      return new Promise(() => {}); // never settles, ignores its signal
    });
    await bus.publish('stuck', 1);
    await bus.publish('stuck', 2);
    await running;
    await bus.close({ drain: false, deadlineMs: 20 });
    assert.equal(seen?.aborted, true);
    assert.equal(bus.stats().dropped, 1, 'the buffered message was dropped');
    assert.equal(bus.stats().subscriptions, 0);
  });

  it('close() drains with a deadline: a stuck handler is aborted and the rest of the buffer dropped', async () => {
    const bus = createBus();
    const handled: number[] = [];
    let seen: AbortSignal | undefined;
    const sub = await bus.subscribe<number>('drain', (m, { signal }) => {
      handled.push(m.payload);
      if (m.payload !== 2) return undefined;
      seen = signal;
      return new Promise(() => {});
    });
    for (let i = 1; i <= 4; i++) await bus.publish('drain', i);
    await sub.close({ deadlineMs: 20 });
    assert.deepEqual(handled, [1, 2]);
    assert.equal(seen?.aborted, true);
    assert.equal(sub.stats().dropped, 2);
    await bus.close();
  });

  it('rejects a bad close deadline with INVALID_OPTIONS', async () => {
    const bus = createBus();
    const sub = await bus.subscribe('x', () => {});
    await rejectsWithCode(sub.close({ deadlineMs: -1 }), 'INVALID_OPTIONS');
    await rejectsWithCode(bus.close({ deadlineMs: 1.5 }), 'INVALID_OPTIONS');
  });

  it('a request with an already-aborted signal fails with ABORTED at once', async () => {
    const bus = createBus();
    await bus.subscribe('never', () => new Promise(() => {}));
    await rejectsWithCode(bus.request('never', 1, { timeout: 200, signal: AbortSignal.abort() }), 'ABORTED');
    assert.equal(bus.stats().pendingRequests, 0);
    await bus.close({ drain: false, deadlineMs: 0 });
  });

  it('aborting a request while it waits fails it with ABORTED and leaves nothing behind', async () => {
    const bus = createBus();
    let asked!: () => void;
    const arrived = new Promise<void>((resolve) => {
      asked = resolve;
    });
    let answer!: (value: string) => void;
    await bus.subscribe('later', () => {
      asked();
      return new Promise<string>((resolve) => {
        answer = resolve;
      });
    });
    const controller = new AbortController();
    const pending = bus.request('later', 1, { timeout: 60_000, signal: controller.signal });
    await arrived;
    controller.abort();
    await rejectsWithCode(pending, 'ABORTED');
    assert.equal(bus.stats().pendingRequests, 0);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    answer('too late'); // a late reply is ignored
    await bus.close();
    assert.equal(liveResources().Timeout ?? 0, 0);
  });

  it('a subscription its transport lost ends: the iterator yields what was buffered, then throws', async () => {
    class LosingTransport extends MemoryTransport {
      readonly sinks: TransportSink[] = [];
      override subscribe(
        pattern: string,
        options: TransportSubscribeOptions,
        sink: TransportSink,
      ): Promise<TransportSubscription> {
        this.sinks.push(sink);
        return super.subscribe(pattern, options, sink);
      }
    }
    const transport = new LosingTransport();
    const bus = createBus({ transport });
    const lost: Array<{ error: Error; pattern: string }> = [];
    bus.events.on('subscriptionLost', (event) => lost.push(event));
    const sub = await bus.subscribe<number>('lost.topic');
    await bus.publish('lost.topic', 1);
    transport.sinks[0]?.fail(new SubscriptionLostError('memory', 'lost.topic', 'gone'));
    const got: number[] = [];
    await assert.rejects(
      async () => {
        for await (const m of sub) got.push(m.payload);
      },
      { code: 'SUBSCRIPTION_LOST' },
    );
    assert.deepEqual(got, [1]);
    assert.equal((sub.error as { code?: string } | undefined)?.code, 'SUBSCRIPTION_LOST');
    assert.deepEqual(
      lost.map((l) => l.pattern),
      ['lost.topic'],
    );
    assert.equal(bus.stats().lost, 1);
    assert.equal(bus.stats().subscriptions, 0);
    await bus.close();
  });
});
