import { availableParallelism } from 'node:os';
import { type EventLoopUtilization, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { AgentInfo, RuntimeStats } from '../core/index.ts';
import { AbortedError } from '../errors/index.ts';
import { AutoscaleError } from './errors.ts';
import {
  errorReading,
  type MetricQuery,
  type MetricReading,
  type MetricSource,
  valueReading,
} from './metric-source.ts';

/** What the node source reads from a runtime (a `Runtime` fits). */
export interface RuntimeFigures {
  stats(): RuntimeStats;
  /** Agent snapshots, for the mailbox figures; read only when a policy asks for one. */
  list?(): AgentInfo[];
}

export interface NodeMetricSourceOptions {
  /** Source name in policies (default `node`). */
  name?: string;
  /** Gives `pool.*`, `agents.*` and, with `list`, `mailbox.*`. */
  runtime?: RuntimeFigures;
  /**
   * More figures by name, read when asked (the node adds model calls in flight and waiting,
   * tokens/s, runs awaiting approval). A function returning undefined gives `no-data`; one that
   * throws gives `AUTOSCALE_SOURCE_UNAVAILABLE`.
   */
  extra?: Record<string, () => number | undefined>;
}

type IntervalHistogram = ReturnType<typeof monitorEventLoopDelay>;

const POOL = ['pool.utilisation', 'pool.running', 'pool.queued', 'pool.waiting', 'pool.capacity'] as const;
const AGENTS = ['agents.running', 'agents.pending', 'agents.inFlight'] as const;
const MAILBOX = ['mailbox.depth', 'mailbox.max'] as const;
const PROCESS = [
  'eventloop.lagMs',
  'eventloop.lagMeanMs',
  'eventloop.utilisation',
  'cpu.utilisation',
  'cpu.cores',
] as const;
const RESOLUTION_MS = 10;
const BY_DEFINITION = /^(mailbox\.depth|mailbox\.max|agents\.inFlight)\{definition="([^"]*)"\}$/;

/**
 * The node's own figures as a metric source. Names:
 * - `pool.utilisation` (running / capacity, 0–1), `pool.running`, `pool.queued`, `pool.waiting`, `pool.capacity`;
 * - `agents.running`, `agents.pending` (agents by state), `agents.inFlight` (messages being handled);
 * - `mailbox.depth` (messages waiting, summed over agents), `mailbox.max` (the deepest mailbox);
 *   each of these and `agents.inFlight` also per definition: `mailbox.depth{definition="triage"}`;
 * - `eventloop.lagMs` (p99 event-loop delay beyond the 10 ms sampling interval; no data until a
 *   sample is in), `eventloop.lagMeanMs`, `eventloop.utilisation` (0–1),
 *   `cpu.utilisation` (process CPU time over wall time, 0–1 of all available cores) and `cpu.cores`
 *   (the same in cores: 1 = one core busy) — each over the time since the previous read that
 *   asked for it (or since the source was created);
 * - every name in `extra`.
 * An unknown name reads as `AUTOSCALE_QUERY_INVALID`. The event-loop histogram starts at the
 * first read that needs it and stops on `close()`.
 */
export class NodeMetricSource implements MetricSource {
  readonly name: string;
  readonly #runtime: RuntimeFigures | undefined;
  readonly #extra: Record<string, () => number | undefined>;
  #delay: IntervalHistogram | undefined;
  #elu: EventLoopUtilization | undefined;
  #cpu = process.cpuUsage();
  #cpuAt = performance.now();
  #closed = false;

  constructor(options: NodeMetricSourceOptions = {}) {
    this.name = options.name ?? 'node';
    this.#runtime = options.runtime;
    this.#extra = { ...options.extra };
  }

  /** The names this source answers (per-definition forms not listed). */
  names(): string[] {
    return [
      ...(this.#runtime === undefined ? [] : [...POOL, ...AGENTS]),
      ...(this.#runtime?.list === undefined ? [] : MAILBOX),
      ...PROCESS,
      ...Object.keys(this.#extra),
    ];
  }

  async read(queries: readonly MetricQuery[], signal?: AbortSignal): Promise<MetricReading[]> {
    if (signal?.aborted) throw new AbortedError();
    const stats = queries.some((q) => q.startsWith('pool.') || q.startsWith('agents.'))
      ? this.#runtime?.stats()
      : undefined;
    const agents = queries.some((q) => q.startsWith('mailbox.') || q.startsWith('agents.inFlight'))
      ? this.#runtime?.list?.()
      : undefined;
    const own = this.#processFigures(queries);
    return queries.map((query) => this.#one(query, stats, agents, own));
  }

  #one(
    query: MetricQuery,
    stats: RuntimeStats | undefined,
    agents: AgentInfo[] | undefined,
    own: Map<string, number | undefined>,
  ): MetricReading {
    const extra = Object.hasOwn(this.#extra, query) ? this.#extra[query] : undefined;
    if (extra !== undefined) {
      try {
        return valueReading(query, extra());
      } catch (error) {
        return errorReading(
          query,
          new AutoscaleError(
            'AUTOSCALE_SOURCE_UNAVAILABLE',
            `The node figure ${query} failed: ${error instanceof Error ? error.message : String(error)}`,
            { cause: error },
          ),
        );
      }
    }
    if (own.has(query)) return valueReading(query, own.get(query));
    if (stats !== undefined) {
      const pool = stats.pool;
      switch (query) {
        case 'pool.utilisation':
          return valueReading(query, pool.capacity > 0 ? pool.running / pool.capacity : 0);
        case 'pool.running':
          return valueReading(query, pool.running);
        case 'pool.queued':
          return valueReading(query, pool.queued);
        case 'pool.waiting':
          return valueReading(query, pool.waiting);
        case 'pool.capacity':
          return valueReading(query, pool.capacity);
        case 'agents.running':
          return valueReading(query, stats.agents.running);
        case 'agents.pending':
          return valueReading(query, stats.agents.pending);
      }
    }
    if (agents !== undefined) {
      const match = BY_DEFINITION.exec(query);
      const figure = match?.[1] ?? query;
      const definition = match?.[2];
      if ((MAILBOX as readonly string[]).includes(figure) || figure === 'agents.inFlight') {
        let sum = 0;
        let max = 0;
        for (const agent of agents) {
          if (definition !== undefined && agent.definition !== definition) continue;
          const n = figure === 'agents.inFlight' ? agent.inFlight : agent.queued;
          sum += n;
          if (n > max) max = n;
        }
        return valueReading(query, figure === 'mailbox.max' ? max : sum);
      }
    }
    return errorReading(
      query,
      new AutoscaleError(
        'AUTOSCALE_QUERY_INVALID',
        `The node source has no figure ${JSON.stringify(query)}; it has ${this.names().join(', ')}.`,
        { details: { query } },
      ),
    );
  }

  /** The event-loop and CPU figures asked for, over the interval since the previous such read. */
  #processFigures(queries: readonly MetricQuery[]): Map<string, number | undefined> {
    const figures = new Map<string, number | undefined>();
    if (this.#closed) {
      for (const name of PROCESS) figures.set(name, undefined);
      return figures;
    }
    if (queries.some((q) => q.startsWith('eventloop.'))) {
      if (this.#delay === undefined) {
        this.#delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
        this.#delay.enable();
        this.#elu = performance.eventLoopUtilization();
        figures.set('eventloop.lagMs', undefined);
        figures.set('eventloop.lagMeanMs', undefined);
        figures.set('eventloop.utilisation', undefined);
      } else {
        const d = this.#delay;
        // The histogram records the time between its timer's ticks: the delay is what exceeds the
        // interval. (Node drops the first sample after a reset: one per read, negligible at 15 s.)
        const lag = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
        figures.set('eventloop.lagMs', d.count > 0 ? lag(d.percentile(99)) : undefined);
        figures.set('eventloop.lagMeanMs', d.count > 0 ? lag(d.mean) : undefined);
        d.reset();
        const now = performance.eventLoopUtilization();
        figures.set('eventloop.utilisation', performance.eventLoopUtilization(now, this.#elu).utilization);
        this.#elu = now;
      }
    }
    if (queries.some((q) => q.startsWith('cpu.'))) {
      const now = performance.now();
      const usage = process.cpuUsage(this.#cpu);
      const wallUs = (now - this.#cpuAt) * 1000;
      this.#cpu = process.cpuUsage();
      this.#cpuAt = now;
      const cores = wallUs > 0 ? (usage.user + usage.system) / wallUs : undefined;
      figures.set('cpu.cores', cores);
      figures.set(
        'cpu.utilisation',
        cores === undefined ? undefined : Math.min(1, cores / availableParallelism()),
      );
    }
    return figures;
  }

  /** Stops the event-loop histogram. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#delay?.disable();
    this.#delay = undefined;
  }
}
