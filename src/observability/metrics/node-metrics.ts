import { createRequire } from 'node:module';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { collectDefaultMetrics, Gauge, Histogram, type Registry } from 'prom-client';
import type { EventLoopMonitor } from '../event-loop-monitor.ts';

/** Stops what the Node.js metrics run in the background. */
export interface NodeMetrics {
  close(): void;
}

/** prom-client's default metrics that start something running and so are replaced here. */
const REPLACED = new Set(['gc', 'eventLoopLag']);
const GC_BUCKETS = [0.001, 0.01, 0.1, 1, 2, 5];
const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

type DefaultMetric = (registry: Registry, config: Record<string, unknown>) => void;
const require = createRequire(import.meta.url);

/**
 * Registers the event loop utilisation gauge (read from `eventLoop`) and, with `defaults`, prom-client's default
 * process and Node.js metrics under their usual names (`process_*`, `nodejs_*`) so stock
 * dashboards work.
 *
 * `collectDefaultMetrics()` cannot be undone: its GC metric leaves a PerformanceObserver and
 * its event loop lag metric an enabled `monitorEventLoopDelay` histogram running for the life
 * of the process. So those two are re-implemented here (same names, labels and buckets), the
 * lag from the shared `EventLoopMonitor` (whose owner closes it), the GC observer released by
 * `close()`; and the other defaults, which only read values at scrape time,
 * are registered one by one from prom-client's own modules.
 */
export function registerNodeMetrics(
  registry: Registry,
  defaults: boolean,
  eventLoop: EventLoopMonitor,
): NodeMetrics {
  const registers = [registry];
  const busy = eventLoop.utilizationSampler();
  new Gauge({
    name: 'nodejs_eventloop_utilization_ratio',
    help: 'Fraction of time the event loop was busy (not idle in the poller) since the previous scrape.',
    registers,
    collect() {
      this.set(busy());
    },
  });
  if (!defaults) return { close() {} };

  for (const name of collectDefaultMetrics.metricsList) {
    if (REPLACED.has(name)) continue;
    (require(`prom-client/lib/metrics/${name}.js`) as DefaultMetric)(registry, {});
  }
  const lag = registerEventLoopLag(registry, eventLoop);
  const gc = registerGc(registry);
  let closed = false;
  return {
    close() {
      if (closed) return;
      closed = true;
      lag.close();
      gc.close();
    },
  };
}

/** prom-client's `nodejs_eventloop_lag_*` gauges, fed by the monitor's delay window (reset at each scrape). */
function registerEventLoopLag(registry: Registry, eventLoop: EventLoopMonitor): NodeMetrics {
  const registers = [registry];
  let pending: NodeJS.Immediate | undefined;
  const gauge = (name: string, help: string) => new Gauge({ name, help, registers });
  // The lag gauge's collect() sets the other seven: it is registered first, and prom-client
  // reads every metric in registration order within one turn (as its own eventLoopLag does).
  const lag = new Gauge({
    name: 'nodejs_eventloop_lag_seconds',
    help: 'Lag of event loop in seconds.',
    registers,
    collect() {
      // As in prom-client: how long a setImmediate takes to run, reported at the next scrape.
      const start = process.hrtime.bigint();
      pending ??= setImmediate(() => {
        pending = undefined;
        lag.set(Number(process.hrtime.bigint() - start) / 1e9);
      });
      const delay = eventLoop.delay();
      if (delay.count > 0) {
        min.set(delay.min / 1e9);
        max.set(delay.max / 1e9);
        mean.set(delay.mean / 1e9);
        stddev.set(delay.stddev / 1e9);
        p50.set(delay.p50 / 1e9);
        p90.set(delay.p90 / 1e9);
        p99.set(delay.p99 / 1e9);
      }
      eventLoop.resetDelay();
    },
  });
  const min = gauge('nodejs_eventloop_lag_min_seconds', 'The minimum recorded event loop delay.');
  const max = gauge('nodejs_eventloop_lag_max_seconds', 'The maximum recorded event loop delay.');
  const mean = gauge('nodejs_eventloop_lag_mean_seconds', 'The mean of the recorded event loop delays.');
  const stddev = gauge(
    'nodejs_eventloop_lag_stddev_seconds',
    'The standard deviation of the recorded event loop delays.',
  );
  const p50 = gauge(
    'nodejs_eventloop_lag_p50_seconds',
    'The 50th percentile of the recorded event loop delays.',
  );
  const p90 = gauge(
    'nodejs_eventloop_lag_p90_seconds',
    'The 90th percentile of the recorded event loop delays.',
  );
  const p99 = gauge(
    'nodejs_eventloop_lag_p99_seconds',
    'The 99th percentile of the recorded event loop delays.',
  );
  return {
    close() {
      if (pending !== undefined) clearImmediate(pending);
      pending = undefined;
    },
  };
}

/** prom-client's `nodejs_gc_duration_seconds`, fed by a PerformanceObserver `close()` disconnects. */
function registerGc(registry: Registry): NodeMetrics {
  const histogram = new Histogram({
    name: 'nodejs_gc_duration_seconds',
    help: 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
    labelNames: ['kind'],
    buckets: GC_BUCKETS,
    registers: [registry],
  });
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const detail = (entry as { detail?: { kind?: number } }).detail;
      const kind = GC_KINDS[detail?.kind ?? -1] ?? 'unknown';
      histogram.observe({ kind }, entry.duration / 1000);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return { close: () => observer.disconnect() };
}
