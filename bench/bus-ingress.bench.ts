// Request/reply through the bus front door over NATS (the server on 4222) against HTTP
// POST /v1/agents/:id/messages on a local server, to the same echo agent, at a few
// concurrencies, in one run. Closed loop: each of C workers sends its next request when the
// previous answered. Client and server share this process (and the 2 cores with NATS); the
// HTTP figures include the in-process fetch client and API-key authentication per request.
import { pino } from 'pino';
import { createBus } from '../src/bus/index.ts';
import { natsTransport } from '../src/bus/transports/nats.ts';
import { LocalFleet } from '../src/cluster/index.ts';
import { loadServerConfig } from '../src/config/index.ts';
import { withTenant } from '../src/context/index.ts';
import { defineAgent } from '../src/core/index.ts';
import { BusFrontDoor, inboxTopic } from '../src/front-door/index.ts';
import { startServer } from '../src/server/index.ts';
import { createTestTenant } from '../test/server-auth.ts';
import { type BenchReport, printReport, round } from './report.ts';

const SECONDS = Number(process.env.BENCH_INGRESS_SECONDS ?? 3);
const CONCURRENCIES = [1, 16, 64];
const NATS_URL = process.env.NATS_URL ?? '127.0.0.1:4222';

const echo = defineAgent({ name: 'echo', decide: (input: unknown) => input });

interface Load {
  rps: number;
  p50ms: number;
  p99ms: number;
  errors: number;
}

async function closedLoop(concurrency: number, seconds: number, call: () => Promise<void>): Promise<Load> {
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const start = performance.now();
      try {
        await call();
        latencies.push(performance.now() - start);
      } catch {
        errors++;
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { rps: latencies.length / elapsed, p50ms: at(0.5), p99ms: at(0.99), errors };
}

export async function runBusIngressBench(): Promise<BenchReport> {
  const app = await startServer(
    loadServerConfig({}, { port: 0, host: '127.0.0.1', logLevel: 'silent' }),
    pino({ level: 'silent' }),
  );
  const tenant = await createTestTenant(app, 'bench');
  app.runtime.register(echo);
  await withTenant(tenant.id, () => app.runtime.spawn(echo, { id: 'echo' }));
  const nodeBus = createBus({ transport: await natsTransport({ servers: NATS_URL }) });
  const door = await BusFrontDoor.open(new LocalFleet(app.runtime), nodeBus);
  const clientBus = createBus({ transport: await natsTransport({ servers: NATS_URL }) });
  const topic = inboxTopic(tenant.id, 'echo');
  const url = `http://127.0.0.1:${app.port}/v1/agents/echo/messages`;
  const body = JSON.stringify({ input: { n: 1 } });
  const headers = { 'content-type': 'application/json', authorization: tenant.authorization };
  const viaBus = async () => {
    await clientBus.request(topic, { input: { n: 1 } });
  };
  const viaHttp = async () => {
    const res = await fetch(url, { method: 'POST', headers, body });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    await res.arrayBuffer();
  };
  const rows: Array<Record<string, string | number>> = [];
  const figures: Record<string, number> = {};
  try {
    for (const c of CONCURRENCIES) {
      for (const [name, call] of [
        ['bus (NATS)', viaBus],
        ['HTTP', viaHttp],
      ] as const) {
        await closedLoop(c, 0.5, call); // warm-up
        const r = await closedLoop(c, SECONDS, call);
        rows.push({
          path: name,
          concurrency: c,
          'requests/s': Math.round(r.rps),
          'p50 ms': round(r.p50ms),
          'p99 ms': round(r.p99ms),
          errors: r.errors,
        });
        const key = name === 'HTTP' ? 'http' : 'bus';
        figures[`${key}C${c}RequestsPerSecond`] = Math.round(r.rps);
        figures[`${key}C${c}P99Ms`] = round(r.p99ms);
      }
      figures[`busToHttpC${c}`] = round(
        (figures[`busC${c}RequestsPerSecond`] ?? 0) / (figures[`httpC${c}RequestsPerSecond`] || 1),
      );
    }
  } finally {
    await clientBus.close();
    await door.close();
    await nodeBus.close();
    await app.shutdown();
  }
  return {
    name: 'bus-ingress',
    measures: `echo agent by request/reply on agent.<tenant>.<id>.inbox over NATS vs HTTP POST /v1/agents/:id/messages, closed loop at concurrency ${CONCURRENCIES.join('/')}, ${SECONDS}s each, client in the same process`,
    rows,
    figures,
  };
}

if (import.meta.main) printReport(await runBusIngressBench());
