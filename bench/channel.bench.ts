// The seed's channel table, shape for shape: one producer, three consumers, capacity 0 / 128 /
// 1024. Our Channel against ts-chan and async-channel (the TS channel libraries on npm) and,
// when `go` is installed, a Go channel doing the same, all in one run.
import { execFileSync } from 'node:child_process';
import { Channel as AsyncChannel } from 'async-channel';
import { Chan } from 'ts-chan';
import { Channel } from '../src/channel/index.ts';
import { buildGo } from './go.ts';
import { type BenchReport, bestOf, printReport, round } from './report.ts';

const MESSAGES = 1_000_000;
const CONSUMERS = 3;

/** The shape both Go-like libraries share: trySend/send, tryRecv/recv, close. */
interface GoLike {
  trySend(value: number): boolean;
  send(value: number): Promise<void>;
  tryRecv(): IteratorResult<number, unknown> | undefined;
  recv(): Promise<IteratorResult<number, unknown>>;
  close(): void;
}

/** Producer sends without a promise when it can; consumers take without one when they can. */
async function runGoLike(make: () => GoLike): Promise<number> {
  const ch = make();
  let received = 0;
  const consume = async () => {
    for (;;) {
      const r = ch.tryRecv() ?? (await ch.recv());
      if (r.done) return;
      received++;
    }
  };
  const consumers = Array.from({ length: CONSUMERS }, consume);
  for (let i = 0; i < MESSAGES; i++) if (!ch.trySend(i)) await ch.send(i);
  ch.close();
  await Promise.all(consumers);
  if (received !== MESSAGES) throw new Error(`lost messages: ${received}`);
  return received;
}

/** The ergonomic form: `await send` and `for await`. */
async function runForAwait(capacity: number): Promise<void> {
  const ch = new Channel<number>(capacity);
  let received = 0;
  const consume = async () => {
    for await (const _ of ch) received++;
  };
  const consumers = Array.from({ length: CONSUMERS }, consume);
  for (let i = 0; i < MESSAGES; i++) await ch.send(i);
  ch.close();
  await Promise.all(consumers);
  if (received !== MESSAGES) throw new Error(`lost messages: ${received}`);
}

async function runAsyncChannel(capacity: number): Promise<void> {
  const ch = new AsyncChannel<number>(capacity);
  let received = 0;
  const consume = async () => {
    for await (const _ of ch) received++;
  };
  const consumers = Array.from({ length: CONSUMERS }, consume);
  for (let i = 0; i < MESSAGES; i++) await ch.push(i);
  ch.close();
  await Promise.all(consumers);
  if (received !== MESSAGES) throw new Error(`lost messages: ${received}`);
}

/** Heap bytes one channel of this capacity takes when full of small integers. */
function bytesPerFullChannel(capacity: number): number {
  const count = 1_000;
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  const keep: Channel<number>[] = [];
  for (let c = 0; c < count; c++) {
    const ch = new Channel<number>(capacity);
    for (let i = 0; i < capacity; i++) ch.trySend(i);
    keep.push(ch);
  }
  globalThis.gc?.();
  const bytes = (process.memoryUsage().heapUsed - before) / count;
  if (keep.length !== count) throw new Error('unreachable');
  return bytes;
}

export async function runChannelBench(): Promise<BenchReport> {
  const go = buildGo('go/channel.go');
  const rows: BenchReport['rows'] = [];
  const figures: BenchReport['figures'] = {};
  for (const capacity of [0, 128, 1024]) {
    const rate = async (fn: () => Promise<unknown>) => {
      await fn(); // warm-up
      return MESSAGES / ((await bestOf(5, fn)) / 1000);
    };
    const ours = await rate(() => runGoLike(() => new Channel<number>(capacity)));
    const oursForAwait = await rate(() => runForAwait(capacity));
    const tsChan = await rate(() => runGoLike(() => new Chan<number>(capacity) as unknown as GoLike));
    const asyncChannel = await rate(() => runAsyncChannel(capacity));
    const goRate =
      go === undefined
        ? undefined
        : Number(execFileSync(go, [String(capacity), String(MESSAGES * 5)]).toString());
    const bestLibrary = Math.max(tsChan, asyncChannel);
    rows.push({
      capacity,
      'agentfleet msg/s': Math.round(ours),
      'agentfleet for-await msg/s': Math.round(oursForAwait),
      'ts-chan msg/s': Math.round(tsChan),
      'async-channel msg/s': Math.round(asyncChannel),
      'Go msg/s': goRate === undefined ? 'not installed' : Math.round(goRate),
      'vs best TS lib': round(ours / bestLibrary),
      'vs Go': goRate === undefined ? '-' : round(ours / goRate),
      'heap bytes, full channel': Math.round(bytesPerFullChannel(capacity)),
    });
    figures[`cap${capacity}MsgPerSec`] = Math.round(ours);
    figures[`cap${capacity}VsBestTsLibrary`] = round(ours / bestLibrary);
    if (goRate !== undefined) figures[`cap${capacity}VsGo`] = round(ours / goRate);
  }
  return {
    name: 'channel',
    measures: '1 producer → 3 consumers, 1M messages, messages/s (best of 5)',
    rows,
    figures,
  };
}

if (import.meta.main) printReport(await runChannelBench());
