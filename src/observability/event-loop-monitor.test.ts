import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventLoopMonitor } from './event-loop-monitor.ts';
import { createMetrics } from './index.ts';

function block(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy: the loop is blocked
  }
}

describe('EventLoopMonitor', () => {
  it('sees a blocked loop in its delay window and its utilisation, and starts a new window on reset', async () => {
    const monitor = new EventLoopMonitor({ resolutionMs: 1 });
    try {
      await sleep(20);
      block(60);
      await sleep(20);
      const delay = monitor.delay();
      assert.ok(delay.count > 0);
      assert.ok(delay.max >= 40e6, `a 60 ms block shows as ≥ 40 ms of delay (max ${delay.max / 1e6} ms)`);
      assert.ok(monitor.utilization() > 0.3, 'the loop was busy for most of the time');
      monitor.resetDelay();
      await sleep(15);
      assert.ok(monitor.delay().max < 40e6, 'the new window does not hold the old block');
      const sampler = monitor.utilizationSampler();
      await sleep(30);
      assert.ok(sampler() < 0.5, 'an idle interval is mostly idle');
    } finally {
      monitor.close();
      monitor.close();
    }
  });

  it('is rejected with a bad resolution', () => {
    assert.throws(() => new EventLoopMonitor({ resolutionMs: 0 }), RangeError);
  });

  it('is the one the metrics read, and closes with them', async () => {
    const metrics = createMetrics({ defaultMetrics: true });
    await sleep(20);
    block(60);
    await sleep(20);
    assert.ok(metrics.eventLoop.delay().max >= 40e6);
    const text = await metrics.render();
    const max = Number(/^nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text)?.[1]);
    assert.ok(max >= 0.04, `the scrape reports the monitor's window (${max} s)`);
    assert.equal(metrics.eventLoop.delay().count, 0, 'a scrape starts a new window');
    metrics.close();
  });
});
