import type { Metric, Registry } from 'prom-client';

/** One exported sample, in the shape prom-client's registry formats. */
interface Sample {
  metricName?: string;
  labels: Record<string, string>;
  value: number;
}

interface FamilyOptions {
  name: string;
  help: string;
  labelNames: readonly string[];
  registry: Registry;
}

/**
 * Base of the hot-path metric families: a series is looked up once per label-value tuple and
 * then updated with plain arithmetic. prom-client's `inc()` / `observe()` hash and validate
 * the label object on every call (~1 µs per agent step measured); this keeps an event that a
 * metric listens to near 0.1 µs. Label values must already be bounded (see `LabelCap`).
 */
abstract class Family<S> {
  readonly name: string;
  readonly help: string;
  readonly aggregator = 'sum';
  abstract readonly type: string;
  readonly #labelNames: readonly string[];
  readonly #series = new Map<string, S>();

  constructor(options: FamilyOptions) {
    this.name = options.name;
    this.help = options.help;
    this.#labelNames = options.labelNames;
    options.registry.registerMetric(this as unknown as Metric);
  }

  /** The series for these label values, in `labelNames` order (created on first use). */
  series(...values: string[]): S {
    const key = values.length === 1 ? values[0]! : values.join('\u0000');
    let series = this.#series.get(key);
    if (series === undefined) {
      const labels: Record<string, string> = {};
      this.#labelNames.forEach((name, i) => {
        labels[name] = values[i] ?? '';
      });
      series = this.create(labels);
      this.#series.set(key, series);
    }
    return series;
  }

  protected abstract create(labels: Record<string, string>): S;
  protected abstract samples(series: S, out: Sample[]): void;
  protected abstract zero(series: S): void;

  /** The registry's view (called at each scrape). */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    const values: Sample[] = [];
    for (const series of this.#series.values()) this.samples(series, values);
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Zeroes every series (`registry.resetMetrics()`); series handed out stay valid. */
  reset(): void {
    for (const series of this.#series.values()) this.zero(series);
  }
}

/** One counter series. */
export class CounterSeries {
  readonly labels: Record<string, string>;
  value = 0;

  constructor(labels: Record<string, string>) {
    this.labels = labels;
  }

  inc(by = 1): void {
    this.value += by;
  }
}

/** A counter family (`_total`) fed on the hot path. */
export class CounterFamily extends Family<CounterSeries> {
  readonly type = 'counter';

  protected create(labels: Record<string, string>): CounterSeries {
    return new CounterSeries(labels);
  }

  protected samples(series: CounterSeries, out: Sample[]): void {
    out.push({ labels: series.labels, value: series.value });
  }

  protected zero(series: CounterSeries): void {
    series.value = 0;
  }
}

/** One histogram series: per-bucket (not cumulative) counts, sum and count. */
export class HistogramSeries {
  readonly labels: Record<string, string>;
  readonly buckets: readonly number[];
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(labels: Record<string, string>, buckets: readonly number[]) {
    this.labels = labels;
    this.buckets = buckets;
    this.counts = new Float64Array(buckets.length);
  }

  observe(value: number): void {
    const buckets = this.buckets;
    let i = 0;
    while (i < buckets.length && value > buckets[i]!) i++;
    if (i < buckets.length) this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/** A histogram family fed on the hot path; exported with cumulative `le` buckets as usual. */
export class HistogramFamily extends Family<HistogramSeries> {
  readonly type = 'histogram';
  readonly buckets: readonly number[];

  constructor(options: FamilyOptions & { buckets: readonly number[] }) {
    super(options);
    this.buckets = [...options.buckets].sort((a, b) => a - b);
  }

  protected create(labels: Record<string, string>): HistogramSeries {
    return new HistogramSeries(labels, this.buckets);
  }

  protected samples(series: HistogramSeries, out: Sample[]): void {
    const bucket = `${this.name}_bucket`;
    let cumulative = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      cumulative += series.counts[i]!;
      out.push({
        metricName: bucket,
        labels: { ...series.labels, le: String(this.buckets[i]) },
        value: cumulative,
      });
    }
    out.push({ metricName: bucket, labels: { ...series.labels, le: '+Inf' }, value: series.count });
    out.push({ metricName: `${this.name}_sum`, labels: series.labels, value: series.sum });
    out.push({ metricName: `${this.name}_count`, labels: series.labels, value: series.count });
  }

  protected zero(series: HistogramSeries): void {
    series.counts.fill(0);
    series.sum = 0;
    series.count = 0;
  }
}
