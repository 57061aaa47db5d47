// The bus, 1 publisher → 3 subscribers (each gets every message). In memory against Node's
// EventEmitter doing the same fan-out; over NATS against the raw nats.js client doing the same
// (when a NATS server answers on 127.0.0.1:4222), all in one run.
import { EventEmitter } from 'node:events';
import { createBus, type Transport } from '../src/bus/index.ts';
import { type BenchReport, bestOf, printReport, round } from './report.ts';

const SUBSCRIBERS = 3;

/** Resolves when `count()` reaches `target` (polled on each macrotask). */
async function until(count: () => number, target: number): Promise<void> {
  while (count() < target) await new Promise((resolve) => setImmediate(resolve));
}

async function emitterFanOut(messages: number): Promise<void> {
  const emitter = new EventEmitter();
  let received = 0;
  for (let s = 0; s < SUBSCRIBERS; s++) emitter.on('bench.topic', () => received++);
  for (let i = 0; i < messages; i++) emitter.emit('bench.topic', { seq: i });
  if (received !== messages * SUBSCRIBERS) throw new Error('lost');
}

/** Publishes through one bus, receives through `SUBSCRIBERS` buses (or one, for memory). */
async function busFanOut(messages: number, connect: () => Promise<Transport>, batch: number): Promise<void> {
  const subscribers = await Promise.all(
    Array.from({ length: SUBSCRIBERS }, async () => createBus({ transport: await connect() })),
  );
  const publisher = createBus({ transport: await connect() });
  let received = 0;
  for (const bus of subscribers) {
    await bus.subscribe(
      'bench.topic',
      () => {
        received++;
      },
      { buffer: 65_536 },
    );
  }
  for (let i = 0; i < messages; i++) {
    const sent = publisher.publish('bench.topic', { seq: i });
    if (i % batch === batch - 1) {
      await sent;
      await publisher.flush();
    }
  }
  await publisher.flush();
  await until(() => received, messages * SUBSCRIBERS);
  await Promise.all([publisher, ...subscribers].map((bus) => bus.close()));
}

export async function runBusBench(): Promise<BenchReport> {
  const rows: BenchReport['rows'] = [];
  const figures: BenchReport['figures'] = {};
  const messages = 1_000_000;
  const { MemoryHub, memoryTransport } = await import('../src/bus/index.ts');
  const rate = async (n: number, fn: () => Promise<unknown>) => n / ((await bestOf(1, fn)) / 1000);
  let emitter = 0;
  let memory = 0;
  for (let run = 0; run < 5; run++) {
    if (process.env.BENCH_VERBOSE) console.error(`memory run ${run}`);
    emitter = Math.max(emitter, await rate(messages, () => emitterFanOut(messages)));
    memory = Math.max(
      memory,
      await rate(messages, () => {
        const hub = new MemoryHub();
        return busFanOut(messages, async () => memoryTransport(hub), 1024);
      }),
    );
  }
  rows.push({
    transport: 'memory',
    'bus msg/s': Math.round(memory),
    baseline: 'EventEmitter',
    'baseline msg/s': Math.round(emitter),
    ratio: round(memory / emitter),
  });
  figures.memoryPublishesPerSec = Math.round(memory);
  figures.memoryDeliveriesPerSec = Math.round(memory * SUBSCRIBERS);
  figures.memoryVsEventEmitter = round(memory / emitter);
  const nats = await natsRows(rate);
  rows.push(...nats.rows);
  Object.assign(figures, nats.figures);
  return {
    name: 'bus',
    measures: `1 publisher → ${SUBSCRIBERS} subscribers, publishes/s (each delivered ${SUBSCRIBERS}×)`,
    rows,
    figures,
  };
}

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

/** The raw nats.js client doing the same fan-out: JSON payloads, 1 publishing and 3 subscribing connections. */
async function rawNatsFanOut(messages: number, batch: number): Promise<void> {
  const { connect } = await import('@nats-io/transport-node');
  const subject = `bench.raw.${process.pid}`;
  const subscribers = await Promise.all(
    Array.from({ length: SUBSCRIBERS }, () => connect({ servers: NATS_URL })),
  );
  const publisher = await connect({ servers: NATS_URL });
  let received = 0;
  for (const nc of subscribers) {
    nc.subscribe(subject, {
      callback: (error, msg) => {
        if (error) throw error;
        JSON.parse(new TextDecoder().decode(msg.data));
        received++;
      },
    });
    await nc.flush();
  }
  const encoder = new TextEncoder();
  for (let i = 0; i < messages; i++) {
    publisher.publish(subject, encoder.encode(JSON.stringify({ seq: i })));
    if (i % batch === batch - 1) await publisher.flush();
  }
  await publisher.flush();
  await until(() => received, messages * SUBSCRIBERS);
  await Promise.all([publisher, ...subscribers].map((nc) => nc.close()));
}

/** NATS rows (bus over NATS against raw nats.js), or a note when no server answers. */
async function natsRows(
  rate: (n: number, fn: () => Promise<unknown>) => Promise<number>,
): Promise<{ rows: BenchReport['rows']; figures: BenchReport['figures'] }> {
  const { natsTransport } = await import('../src/bus/transports/nats.ts');
  try {
    await (await natsTransport({ servers: NATS_URL })).close();
  } catch (error) {
    return { rows: [], figures: { nats: `not measured: ${(error as Error).message}` } };
  }
  const messages = 200_000;
  const batch = 1024;
  // Interleaved runs, best of each: the NATS server and the machine drift between runs.
  let raw = 0;
  let bus = 0;
  for (let run = 0; run < 5; run++) {
    raw = Math.max(raw, await rate(messages, () => rawNatsFanOut(messages, batch)));
    const connect = () => natsTransport({ servers: NATS_URL });
    bus = Math.max(bus, await rate(messages, () => busFanOut(messages, connect, batch)));
    if (process.env.BENCH_VERBOSE) console.error(`run ${run}: raw ${Math.round(raw)} bus ${Math.round(bus)}`);
  }
  return {
    rows: [
      {
        transport: 'nats',
        'bus msg/s': Math.round(bus),
        baseline: 'raw nats.js',
        'baseline msg/s': Math.round(raw),
        ratio: round(bus / raw),
      },
    ],
    figures: {
      natsPublishesPerSec: Math.round(bus),
      rawNatsPublishesPerSec: Math.round(raw),
      natsVsRaw: round(bus / raw),
      natsOverheadPercent: round((1 - bus / raw) * 100),
    },
  };
}

if (import.meta.main) printReport(await runBusBench());
