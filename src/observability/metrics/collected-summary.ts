import type { Metric, Registry } from 'prom-client';

/** One series of a `CollectedSummary`. */
export interface SummaryValue {
  labels: Record<string, string>;
  /** Sum of the observations, in the metric's unit. */
  sum: number;
  count: number;
}

/**
 * A summary without quantiles (`<name>_sum` and `<name>_count`) whose totals are read at
 * scrape time from a source that only keeps them, e.g. the pool's wait time. prom-client's
 * `Summary` can only be fed one observation at a time, so this small metric object is
 * registered instead; the registry only needs `name`, `help`, `type`, `get()` and `reset()`.
 */
export class CollectedSummary {
  readonly name: string;
  readonly help: string;
  readonly type = 'summary';
  readonly aggregator = 'sum';
  readonly labelNames: string[] = [];
  readonly #read: () => SummaryValue[];

  constructor(options: { name: string; help: string; registry: Registry; read: () => SummaryValue[] }) {
    this.name = options.name;
    this.help = options.help;
    this.#read = options.read;
    options.registry.registerMetric(this as unknown as Metric);
  }

  async get(): Promise<{
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: Array<{ metricName: string; labels: Record<string, string>; value: number }>;
  }> {
    const values: Array<{ metricName: string; labels: Record<string, string>; value: number }> = [];
    for (const { labels, sum, count } of this.#read()) {
      values.push({ metricName: `${this.name}_sum`, labels, value: sum });
      values.push({ metricName: `${this.name}_count`, labels, value: count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Nothing to reset: the values live in the source. */
  reset(): void {}
}
