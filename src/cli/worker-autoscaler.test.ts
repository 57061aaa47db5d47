import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { pino } from 'pino';
import { loadServerConfig } from '../config/index.ts';
import { openWorkerAutoscaler } from './worker-autoscaler.ts';

const policy = (extra: object = {}) => ({
  name: 'workers',
  actuator: 'workers',
  source: 'prometheus',
  min: 1,
  max: 4,
  cooldownMs: 0,
  scaleDownStabilizationMs: 0,
  target: { metric: 'avg(agentfleet_pool_running)', target: 1 },
  ...extra,
});
const env = (policies: object[], extra: Record<string, string> = {}) => ({
  AGENTFLEET_CLUSTER: 'nats://127.0.0.1:4222',
  AGENTFLEET_AUTOSCALE_POLICIES: JSON.stringify(policies),
  AGENTFLEET_AUTOSCALE_TICK_MS: '100',
  ...extra,
});

test('the primary resizes its workers from a Prometheus query', async (t) => {
  let value = 3;
  const queries: string[] = [];
  const prometheus = createServer((req, res) => {
    queries.push(new URL(req.url ?? '/', 'http://x').searchParams.get('query') ?? '');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        status: 'success',
        data: { resultType: 'vector', result: [{ metric: {}, value: [Date.now() / 1000, String(value)] }] },
      }),
    );
  });
  await new Promise<void>((r) => prometheus.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => prometheus.close(r)));
  const url = `http://127.0.0.1:${(prometheus.address() as AddressInfo).port}`;
  const config = loadServerConfig(env([policy()], { AGENTFLEET_AUTOSCALE_PROMETHEUS_URL: url }), {
    logLevel: 'silent',
  });
  let workers = 1;
  const size = () => workers;
  const sizes: number[] = [];
  const supervisor = {
    setWorkers: (n: number) => {
      workers = n;
      sizes.push(n);
    },
    info: () => ({ workers, slots: [], retiring: 0, restartsPending: 0 }),
  };
  const autoscaler = openWorkerAutoscaler(config, supervisor, pino({ level: 'silent' }));
  assert.ok(autoscaler);
  t.after(() => autoscaler.close());
  for (let i = 0; i < 200 && size() !== 3; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(size(), 3, 'one worker at 3 running steps each → 3 workers');
  assert.equal(queries[0], 'avg(agentfleet_pool_running)');
  value = 0.2;
  for (let i = 0; i < 200 && size() !== 1; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(size(), 1);
  assert.deepEqual(sizes, [3, 1]);
});

test('workers policies need Prometheus, and a cluster to grow past one worker', () => {
  const silent = { logLevel: 'silent' as const };
  const supervisor = {
    setWorkers: () => {},
    info: () => ({ workers: 1, slots: [], retiring: 0, restartsPending: 0 }),
  };
  assert.throws(
    () =>
      openWorkerAutoscaler(loadServerConfig(env([policy()]), silent), supervisor, pino({ level: 'silent' })),
    { code: 'AUTOSCALE_POLICY_INVALID' },
  );
  assert.throws(
    () =>
      openWorkerAutoscaler(
        loadServerConfig(
          env([policy({ source: 'node' })], { AGENTFLEET_AUTOSCALE_PROMETHEUS_URL: 'http://127.0.0.1:9' }),
          silent,
        ),
        supervisor,
        pino({ level: 'silent' }),
      ),
    { code: 'AUTOSCALE_POLICY_INVALID' },
  );
  assert.throws(
    () => loadServerConfig({ AGENTFLEET_AUTOSCALE_POLICIES: JSON.stringify([policy()]) }, silent),
    {
      code: 'CONFIG_INVALID',
    },
  );
  assert.equal(
    openWorkerAutoscaler(loadServerConfig(env([]), silent), supervisor, pino({ level: 'silent' })),
    undefined,
  );
});
