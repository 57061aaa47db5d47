import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { CounterFamily, HistogramFamily } from './series-family.ts';

/** The exposition's sample lines, sorted with labels in name order, so two renders compare. */
async function samples(registry: Registry): Promise<string[]> {
  const lines = (await registry.metrics()).split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  return lines
    .map((line) => {
      const m = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line)!;
      const labels = (m[2] ?? '')
        .split(/,(?=\w+=")/)
        .filter(Boolean)
        .sort()
        .join(',');
      return `${m[1]}{${labels}} ${m[3]}`;
    })
    .sort();
}

describe('series families', () => {
  it('render exactly what prom-client renders for the same observations', async () => {
    const stock = new Registry();
    const ours = new Registry();
    const buckets = [0.1, 1, 5];
    const counter = new Counter({ name: 'c_total', help: 'h', labelNames: ['a', 'b'], registers: [stock] });
    const histogram = new Histogram({
      name: 'h_seconds',
      help: 'h',
      labelNames: ['a'],
      buckets,
      registers: [stock],
    });
    const counters = new CounterFamily({
      name: 'c_total',
      help: 'h',
      labelNames: ['a', 'b'],
      registry: ours,
    });
    const histograms = new HistogramFamily({
      name: 'h_seconds',
      help: 'h',
      labelNames: ['a'],
      buckets,
      registry: ours,
    });
    for (const [a, b, v] of [
      ['x', 'ok', 0.05],
      ['x', 'ok', 0.1],
      ['x', 'error', 1],
      ['y', 'ok', 4.2],
      ['y', 'ok', 99],
    ] as const) {
      counter.inc({ a, b }, 2);
      counters.series(a, b).inc(2);
      histogram.observe({ a }, v);
      histograms.series(a).observe(v);
    }
    assert.deepEqual(await samples(ours), await samples(stock));
    assert.match(await ours.metrics(), /^# TYPE h_seconds histogram$/m);
    assert.match(await ours.metrics(), /^h_seconds_bucket\{a="x",le="0.1"\} 2$/m);
    assert.match(await ours.metrics(), /^h_seconds_bucket\{a="y",le="\+Inf"\} 2$/m);
  });

  it('hands out the same series for the same labels and zeroes them on reset', async () => {
    const registry = new Registry();
    const counters = new CounterFamily({ name: 'n_total', help: 'h', labelNames: ['a'], registry });
    const series = counters.series('x');
    assert.equal(counters.series('x'), series);
    series.inc();
    series.inc(4);
    assert.match(await registry.metrics(), /^n_total\{a="x"\} 5$/m);
    registry.resetMetrics();
    series.inc();
    assert.match(await registry.metrics(), /^n_total\{a="x"\} 1$/m);
  });
});
