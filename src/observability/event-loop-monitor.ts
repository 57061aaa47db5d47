import { type EventLoopUtilization, monitorEventLoopDelay, performance } from 'node:perf_hooks';

type IntervalHistogram = ReturnType<typeof monitorEventLoopDelay>;

/** Event-loop delay figures, in nanoseconds, over the monitor's current window. */
export interface EventLoopDelay {
  /** Samples in the window (0: the other figures are meaningless). */
  count: number;
  min: number;
  max: number;
  mean: number;
  stddev: number;
  p50: number;
  p90: number;
  p99: number;
}

/**
 * The process's one event-loop monitor: one `monitorEventLoopDelay` histogram and one
 * event-loop-utilisation sampler, read by the Prometheus metrics (`nodejs_eventloop_*`) and by
 * `/debug/vars`. The delay window runs from the last `resetDelay()` (the metrics reset it at
 * each scrape, as prom-client does) or from the start. `close()` disables the histogram; the
 * owner (the metrics, or the debug routes when there are no metrics) closes it.
 */
export class EventLoopMonitor {
  readonly #delay: IntervalHistogram;
  readonly #start: EventLoopUtilization;
  #closed = false;

  /** Starts sampling the event-loop delay every `resolutionMs` milliseconds (default 10). */
  constructor(options: { resolutionMs?: number } = {}) {
    const resolution = options.resolutionMs ?? 10;
    if (!Number.isInteger(resolution) || resolution < 1) {
      throw new RangeError(`resolutionMs must be an integer ≥ 1; got ${resolution}.`);
    }
    this.#delay = monitorEventLoopDelay({ resolution });
    this.#delay.enable();
    this.#start = performance.eventLoopUtilization();
  }

  /** The delay figures since the last `resetDelay()` (or the start), in nanoseconds. */
  delay(): EventLoopDelay {
    const d = this.#delay;
    return {
      count: d.count,
      min: d.min,
      max: d.max,
      mean: d.mean,
      stddev: d.stddev,
      p50: d.percentile(50),
      p90: d.percentile(90),
      p99: d.percentile(99),
    };
  }

  /** Starts a new delay window. */
  resetDelay(): void {
    this.#delay.reset();
  }

  /** Fraction of time (0–1) the event loop was busy since the monitor started. */
  utilization(): number {
    return performance.eventLoopUtilization(this.#start).utilization;
  }

  /** A sampler whose every call returns the fraction of time (0–1) the loop was busy since its previous call (or its creation). */
  utilizationSampler(): () => number {
    let last = performance.eventLoopUtilization();
    return () => {
      const now = performance.eventLoopUtilization();
      const busy = performance.eventLoopUtilization(now, last).utilization;
      last = now;
      return busy;
    };
  }

  /** Disables the delay histogram. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#delay.disable();
  }
}
