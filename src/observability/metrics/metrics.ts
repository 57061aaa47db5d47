import { Registry } from 'prom-client';
import { parseOptions } from '../../errors/index.ts';
import { EventLoopMonitor } from '../event-loop-monitor.ts';
import { registerBusMetrics } from './bus-metrics.ts';
import { registerEventMetrics } from './event-metrics.ts';
import { type MetricsOptions, metricsOptionsSchema } from './metrics-options.ts';
import { registerNodeMetrics } from './node-metrics.ts';
import { registerRuntimeMetrics } from './runtime-metrics.ts';

/** Prometheus metrics of one runtime and bus, plus model, tool and step events and Node.js itself. */
export interface Metrics {
  /** The registry holding every metric (a private one, never prom-client's global registry). */
  readonly registry: Registry;
  /** The `Content-Type` of `render()`'s output (Prometheus text format 0.0.4). */
  readonly contentType: string;
  /** The event-loop monitor the `nodejs_eventloop_*` metrics read; closed by `close()`. Share it (`/debug/vars`) rather than start another. */
  readonly eventLoop: EventLoopMonitor;
  /** The exposition text, with runtime and bus figures read now. */
  render(): Promise<string>;
  /** Unsubscribes from the event channels and stops GC and event loop monitoring. Idempotent. */
  close(): void;
}

/**
 * Creates the metrics for a runtime and/or bus in a new registry. Runtime, pool and bus
 * figures are read from their `stats()` at scrape time, so they cost nothing between
 * scrapes; model calls, tool calls and agent steps are counted from the
 * `node:diagnostics_channel` events (every publisher in the process, not only `runtime`).
 * @throws InvalidOptionsError naming any bad option.
 */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const o = parseOptions('metrics', metricsOptionsSchema, options);
  const registry = new Registry();
  if (o.runtime !== undefined) registerRuntimeMetrics(registry, o.prefix, o.runtime, o.labelTenants);
  if (o.bus !== undefined) registerBusMetrics(registry, o.prefix, o.bus);
  const events = registerEventMetrics(registry, o.prefix, o.maxLabelValues);
  const eventLoop = new EventLoopMonitor();
  const node = registerNodeMetrics(registry, o.defaultMetrics, eventLoop);
  return {
    registry,
    contentType: registry.contentType,
    eventLoop,
    render: () => registry.metrics(),
    close() {
      events.close();
      node.close();
      eventLoop.close();
    },
  };
}
