// Property tests: under random interleavings of senders, receivers (plain, try, select,
// abortable), and a close at a random moment, every value accepted by the channel is received
// exactly once, nothing else is received, and each receiver sees each sender's values in order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Channel, type RecvResult, select } from './index.ts';

type SendMode = 'send' | 'trySend' | 'abortable';
type RecvMode = 'recv' | 'tryRecv' | 'abortable' | 'select';
interface Step<M> {
  ticks: number;
  mode: M;
}

const sendStep = fc.record({
  ticks: fc.nat(3),
  mode: fc.constantFrom<SendMode>('send', 'trySend', 'abortable'),
});
const recvStep = fc.record({
  ticks: fc.nat(3),
  mode: fc.constantFrom<RecvMode>('recv', 'tryRecv', 'abortable', 'select'),
});
const program = fc.record({
  capacity: fc.integer({ min: 0, max: 4 }),
  senders: fc.array(fc.array(sendStep, { maxLength: 25 }), { minLength: 1, maxLength: 4 }),
  receivers: fc.array(fc.array(recvStep, { maxLength: 25 }), { minLength: 1, maxLength: 4 }),
  closeAtTick: fc.option(fc.nat(80), { nil: undefined }),
  abortAfter: fc.nat(4),
});

async function ticks(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await null;
}

/** A value is `sender * 1000 + sequence`, so order and origin can be checked. */
async function runSender(
  ch: Channel<number>,
  id: number,
  steps: Step<SendMode>[],
  abortAfter: number,
  accepted: number[],
) {
  for (let seq = 0; seq < steps.length; seq++) {
    const step = steps[seq] as Step<SendMode>;
    await ticks(step.ticks);
    const value = id * 1000 + seq;
    try {
      if (step.mode === 'trySend') {
        if (ch.trySend(value)) accepted.push(value);
        else await ch.send(value).then(() => accepted.push(value));
      } else if (step.mode === 'abortable') {
        const controller = new AbortController();
        void ticks(abortAfter).then(() => controller.abort());
        await ch.send(value, { signal: controller.signal }).then(
          () => accepted.push(value),
          (error: { code?: string }) => {
            if (error.code !== 'ABORTED') throw error;
          },
        );
      } else {
        await ch.send(value);
        accepted.push(value);
      }
    } catch (error) {
      if ((error as { code?: string }).code === 'CHANNEL_CLOSED') return;
      throw error;
    }
  }
}

async function receiveOnce(
  ch: Channel<number>,
  never: Channel<number>,
  step: Step<RecvMode>,
  abortAfter: number,
) {
  if (step.mode === 'tryRecv') return ch.tryRecv() ?? (await ch.recv());
  if (step.mode === 'recv') return ch.recv();
  const controller = new AbortController();
  void ticks(abortAfter).then(() => controller.abort());
  try {
    if (step.mode === 'abortable') return await ch.recv({ signal: controller.signal });
    const r = await select([{ recv: never }, { recv: ch }], { signal: controller.signal });
    assert.ok(r.kind === 'recv' && r.index === 1, 'only the live case can complete');
    return r as RecvResult<number>;
  } catch (error) {
    if ((error as { code?: string }).code === 'ABORTED') return undefined;
    throw error;
  }
}

async function runReceiver(
  ch: Channel<number>,
  never: Channel<number>,
  steps: Step<RecvMode>[],
  abortAfter: number,
) {
  const got: number[] = [];
  for (const step of steps) {
    await ticks(step.ticks);
    const r = await receiveOnce(ch, never, step, abortAfter);
    if (r === undefined) continue;
    if (r.done) return got;
    got.push(r.value);
  }
  for (;;) {
    const r = await ch.recv();
    if (r.done) return got;
    got.push(r.value);
  }
}

describe('Channel properties', () => {
  it('no loss, no duplication, per-sender FIFO, under random interleavings, closes and aborts', async () => {
    await fc.assert(
      fc.asyncProperty(program, async (p) => {
        const ch = new Channel<number>(p.capacity);
        const never = new Channel<number>(0);
        const accepted: number[] = [];
        const senders = p.senders.map((steps, id) => runSender(ch, id, steps, p.abortAfter, accepted));
        const receivers = p.receivers.map((steps) => runReceiver(ch, never, steps, p.abortAfter));
        const closer =
          p.closeAtTick === undefined
            ? Promise.all(senders).then(() => ch.close())
            : ticks(p.closeAtTick).then(() => ch.close());
        await closer;
        await Promise.all(senders);
        const received = await Promise.all(receivers);

        const all = received.flat();
        assert.equal(new Set(all).size, all.length, 'a value was received twice');
        assert.deepEqual(
          [...all].sort((a, b) => a - b),
          [...accepted].sort((a, b) => a - b),
          'lost or invented',
        );
        for (const got of received) {
          const last = new Map<number, number>();
          for (const value of got) {
            const sender = Math.floor(value / 1000);
            assert.ok((last.get(sender) ?? -1) < value % 1000, `out of order: ${got.join(',')}`);
            last.set(sender, value % 1000);
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  it('a single receiver sees exactly the send order of a single sender', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 8 }),
        fc.array(fc.nat(2), { maxLength: 60 }),
        async (capacity, gaps) => {
          const ch = new Channel<number>(capacity);
          const sending = (async () => {
            for (let i = 0; i < gaps.length; i++) {
              await ticks(gaps[i] as number);
              await ch.send(i);
            }
            ch.close();
          })();
          const got: number[] = [];
          for await (const v of ch) got.push(v);
          await sending;
          assert.deepEqual(
            got,
            gaps.map((_, i) => i),
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});
