import { z } from 'zod';
import { AbortedError, parseOptions } from '../errors/index.ts';
import { AutoscaleError, describeCause } from './errors.ts';
import {
  errorReading,
  type MetricQuery,
  type MetricReading,
  type MetricSource,
  valueReading,
} from './metric-source.ts';

const optionsSchema = z.strictObject({
  /** Source name in policies (default `prometheus`). */
  name: z.string().min(1).default('prometheus'),
  /** Base URL of the Prometheus server, e.g. `http://prometheus:9090` (no trailing `/api/v1`). */
  url: z.url({ protocol: /^https?$/ }),
  /** Per query, in milliseconds (default 2000): a slower answer is `AUTOSCALE_SOURCE_UNAVAILABLE`. */
  timeoutMs: z.number().int().positive().default(2000),
  /** Largest response body read, in bytes (default 1 MiB): the answer is outside input. */
  maxResponseBytes: z
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  /** Extra request headers, e.g. `{ authorization: 'Bearer …' }`. */
  headers: z.record(z.string(), z.string()).optional(),
});

export type PrometheusMetricSourceOptions = z.input<typeof optionsSchema>;

const sampleValue = z.tuple([z.number(), z.string()]);
const responseSchema = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('success'),
    data: z.discriminatedUnion('resultType', [
      z.object({
        resultType: z.literal('vector'),
        result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: sampleValue })),
      }),
      z.object({ resultType: z.literal('scalar'), result: sampleValue }),
      z.object({ resultType: z.enum(['matrix', 'string']), result: z.unknown() }),
    ]),
  }),
  z.object({ status: z.literal('error'), errorType: z.string().optional(), error: z.string().optional() }),
]);

/** What the source last saw: `ok`, `unavailable` (with the reason), or `unknown` before any read. */
export interface PrometheusSourceStatus {
  state: 'unknown' | 'ok' | 'unavailable';
  /** When the last successful answer came, in ms since the epoch. */
  lastOkAt?: number;
  /** Why the last read failed to reach Prometheus. */
  reason?: string;
}

/**
 * A real Prometheus as a metric source, through its HTTP API (`GET /api/v1/query?query=…`,
 * an instant query per PromQL text, run in parallel). A vector with several samples reads as
 * their sum, NaN samples left out (write `max(…)` or a label selector for anything else); an
 * empty vector or only NaN is `no-data`; a scalar is its value; `+Inf`/`-Inf` are infinities. Network errors, timeouts, 5xx, oversized or unparseable
 * answers are `AUTOSCALE_SOURCE_UNAVAILABLE`; Prometheus refusing the query (4xx, `bad_data`)
 * or a matrix/string result is `AUTOSCALE_QUERY_INVALID`. Holds no connection of its own.
 */
export class PrometheusMetricSource implements MetricSource {
  readonly name: string;
  readonly #options: z.output<typeof optionsSchema>;
  readonly #base: string;
  #status: PrometheusSourceStatus = { state: 'unknown' };

  constructor(options: PrometheusMetricSourceOptions) {
    this.#options = parseOptions('PrometheusMetricSource', optionsSchema, options);
    this.name = this.#options.name;
    this.#base = this.#options.url.replace(/\/+$/, '');
  }

  /** Whether the last read reached Prometheus, and why not. */
  status(): PrometheusSourceStatus {
    return { ...this.#status };
  }

  async read(queries: readonly MetricQuery[], signal?: AbortSignal): Promise<MetricReading[]> {
    if (signal?.aborted) throw new AbortedError();
    const readings = await Promise.all(queries.map((query) => this.#query(query, signal)));
    if (signal?.aborted) throw new AbortedError();
    const down = readings.find((r) => r.error?.code === 'AUTOSCALE_SOURCE_UNAVAILABLE');
    if (down?.error !== undefined)
      this.#status = { ...this.#status, state: 'unavailable', reason: down.error.message };
    else if (readings.length > 0) this.#status = { state: 'ok', lastOkAt: Date.now() };
    return readings;
  }

  async #query(query: MetricQuery, signal: AbortSignal | undefined): Promise<MetricReading> {
    const url = `${this.#base}/api/v1/query?query=${encodeURIComponent(query)}`;
    const timeout = AbortSignal.timeout(this.#options.timeoutMs);
    const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
    const unavailable = (why: string, cause?: unknown) =>
      errorReading(
        query,
        new AutoscaleError('AUTOSCALE_SOURCE_UNAVAILABLE', `Prometheus at ${this.#base} ${why}`, {
          details: { query, url: this.#base },
          ...(cause === undefined ? {} : { cause }),
        }),
      );
    let status: number;
    let text: string;
    try {
      const response = await fetch(url, {
        signal: combined,
        headers: { accept: 'application/json', ...this.#options.headers },
      });
      status = response.status;
      text = await readBounded(response, this.#options.maxResponseBytes);
    } catch (error) {
      if (signal?.aborted) return unavailable('was not asked: the read was aborted', error);
      if (timeout.aborted) return unavailable(`did not answer in ${this.#options.timeoutMs} ms`, error);
      if (error instanceof TooLargeError) return unavailable(error.message);
      return unavailable(`is unreachable: ${describeCause(error)}`, error);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return status >= 500
        ? unavailable(`answered ${status}`)
        : unavailable(`answered ${status} with a body that is not JSON`);
    }
    const parsed = responseSchema.safeParse(body);
    if (!parsed.success) {
      return status >= 500
        ? unavailable(`answered ${status}`)
        : unavailable(`answered ${status} with an unexpected body`);
    }
    const answer = parsed.data;
    if (answer.status === 'error') {
      const why = `${answer.errorType ?? 'error'}: ${answer.error ?? 'no message'}`;
      if (
        status >= 500 ||
        status === 429 ||
        answer.errorType === 'timeout' ||
        answer.errorType === 'unavailable'
      ) {
        return unavailable(`failed the query (${status} ${why})`);
      }
      return errorReading(
        query,
        new AutoscaleError(
          'AUTOSCALE_QUERY_INVALID',
          `Prometheus refused the query ${JSON.stringify(query)}: ${why}`,
          {
            details: { query, status, errorType: answer.errorType },
          },
        ),
      );
    }
    const data = answer.data;
    if (data.resultType === 'scalar') return valueReading(query, sampleNumber(data.result[1]));
    if (data.resultType === 'vector') {
      let sum: number | undefined;
      for (const sample of data.result) {
        const value = sampleNumber(sample.value[1]);
        if (!Number.isNaN(value)) sum = (sum ?? 0) + value;
      }
      return valueReading(query, sum);
    }
    return errorReading(
      query,
      new AutoscaleError(
        'AUTOSCALE_QUERY_INVALID',
        `The query ${JSON.stringify(query)} gives a ${data.resultType}; an autoscaling query must give one number (an instant vector or a scalar).`,
        { details: { query, resultType: data.resultType } },
      ),
    );
  }

  /** Nothing to release (each query is one HTTP request). */
  close(): void {}
}

/** A sample value as Prometheus writes it (`"1.5"`, `"+Inf"`, `"-Inf"`, `"NaN"`). */
function sampleNumber(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

class TooLargeError extends Error {}

/** The response body as text, refusing one over `max` bytes. */
async function readBounded(response: Response, max: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > max) {
    await response.body?.cancel();
    throw new TooLargeError(`answered ${declared} bytes, over the ${max}-byte limit`);
  }
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw new TooLargeError(`answered over the ${max}-byte limit`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
