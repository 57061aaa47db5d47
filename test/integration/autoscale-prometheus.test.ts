// Autoscaling from a real Prometheus: it scrapes a tiny exporter whose gauge the test sets; the
// PrometheusMetricSource reads the new value after a scrape, an Autoscaler scales on it; with
// Prometheus stopped the size stays and the status says why; started again, it recovers.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import {
  type Actuator,
  AutoscaleError,
  Autoscaler,
  PrometheusMetricSource,
} from '../../src/autoscale/index.ts';
import { ensurePrometheus, type PrometheusServer, startPrometheus, until } from './prometheus-server.ts';

const skip = await ensurePrometheus();
const GAUGE = 'agentfleet_test_pending_tasks';
const QUERY = `max(${GAUGE}{job="autoscale"})`;

describe('autoscaling from a real Prometheus', { skip, timeout: 120_000 }, () => {
  it('reads a scraped gauge, scales on it, holds while Prometheus is down and recovers', async (t) => {
    let gauge = 5;
    const exporter = createServer((req, res) => {
      if (req.url !== '/metrics') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(`# HELP ${GAUGE} Tasks waiting.\n# TYPE ${GAUGE} gauge\n${GAUGE} ${gauge}\n`);
    });
    await new Promise<void>((resolve) => exporter.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => exporter.close(() => resolve())));
    const target = `127.0.0.1:${(exporter.address() as AddressInfo).port}`;

    let prometheus: PrometheusServer = await startPrometheus(target, { job: 'autoscale' });
    t.after(() => prometheus.stop());
    const port = Number(new URL(prometheus.url).port);
    const source = new PrometheusMetricSource({ url: prometheus.url, timeoutMs: 2000 });
    t.after(() => source.close());
    const read = async (query: string) => (await source.read([query]))[0]!;

    // The first scrape, then a changed gauge after the next.
    await until(
      () => read(QUERY),
      (r) => r.value === 5,
    );
    assert.equal(source.status().state, 'ok');
    gauge = 42;
    const changed = await until(
      () => read(QUERY),
      (r) => r.value === 42,
    );
    assert.equal(changed.status, 'ok');

    // A query that matches nothing, and one Prometheus refuses.
    const none = await read('agentfleet_no_such_metric');
    assert.equal(none.status, 'no-data');
    assert.equal(none.value, undefined);
    const bad = await read('sum(');
    assert.equal(bad.status, 'error');
    assert.equal(bad.error?.code, 'AUTOSCALE_QUERY_INVALID');
    assert.match(bad.error!.message, /bad_data/);

    // An autoscaler on the gauge: more than 100 pending → one more replica.
    let size = 1;
    const sets: number[] = [];
    const actuator: Actuator = {
      current: () => size,
      async set(n) {
        sets.push(n);
        size = n;
      },
    };
    const autoscaler = new Autoscaler({
      policies: [
        {
          name: 'workers',
          actuator: 'workers',
          source: 'prometheus',
          min: 1,
          max: 3,
          cooldownMs: 0,
          scaleDownStabilizationMs: 0,
          rules: [
            {
              name: 'busy',
              when: { all: [{ metric: QUERY, op: '>', value: 100 }] },
              action: { type: 'step', change: 1 },
            },
          ],
        },
      ],
      sources: { prometheus: source },
      actuators: { workers: actuator },
    });
    t.after(() => autoscaler.close());
    const status = () => autoscaler.status()[0]!;
    await autoscaler.tick();
    assert.equal(status().state, 'ok');
    assert.deepEqual(sets, []);
    gauge = 150;
    await until(
      async () => {
        await autoscaler.tick();
        return sets;
      },
      (s) => s.length === 1,
    );
    assert.deepEqual(sets, [2]);
    assert.deepEqual(status().lastDecision?.inputs, { [QUERY]: 150 });

    // Prometheus goes away: the size stays, the status says why.
    await prometheus.stop();
    const down = await read(QUERY);
    assert.ok(down.error instanceof AutoscaleError);
    assert.equal(down.error.code, 'AUTOSCALE_SOURCE_UNAVAILABLE');
    assert.match(down.error.message, /ECONNREFUSED/);
    assert.equal(source.status().state, 'unavailable');
    await autoscaler.tick();
    await autoscaler.tick();
    assert.deepEqual(sets, [2]);
    assert.equal(status().state, 'source-unavailable');
    assert.match(status().reason, /^source-unavailable: Prometheus at .* is unreachable: .*ECONNREFUSED/);

    // Back at the same address (a fresh TSDB): it recovers at the next scrape.
    prometheus = await startPrometheus(target, { job: 'autoscale', port });
    await until(
      async () => {
        await autoscaler.tick();
        return status();
      },
      (s) => s.state === 'ok' && size === 3,
    );
    assert.deepEqual(sets, [2, 3]);
    assert.equal(source.status().state, 'ok');
  });
});
