import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually, liveResources, rejectsWithCode, sleep, throwsWithCode } from '../../test/helpers.ts';
import { createBus, type Envelope } from './index.ts';

describe('Bus (in memory)', () => {
  it('block: a full subscriber holds the publisher back until it catches up', async () => {
    const bus = createBus();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const got: number[] = [];
    await bus.subscribe<number>(
      'work',
      async (m) => {
        await gate;
        got.push(m.payload);
      },
      { buffer: 4 },
    );
    const publishes = Array.from({ length: 10 }, (_, i) => bus.publish('work', i));
    let settled = 0;
    for (const p of publishes) void p.then(() => settled++);
    await sleep(10);
    assert.equal(settled, 5, '1 in the handler + 4 buffered; the other publishes wait');
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
    await sleep(10);
    assert.equal(liveResources().Timeout ?? 0, 0);
  });
});
