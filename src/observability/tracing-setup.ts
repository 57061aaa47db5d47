import {
  type Attributes,
  type Context,
  context,
  type Link,
  propagation,
  type SpanKind,
  trace,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  type Sampler,
  SamplingDecision,
  type SamplingResult,
  SimpleSpanProcessor,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-node';
import { z } from 'zod';
import { enableTracing, HEAD_SAMPLED } from '../context/index.ts';
import { parseOptions } from '../errors/index.ts';

/**
 * Roots Agentfleet starts were already head-sampled by `inSpan` (it skips the dropped ones
 * without making a span), so they are recorded; other roots get the trace-id ratio.
 */
class HeadSampledRoots implements Sampler {
  readonly #ratio: TraceIdRatioBasedSampler;
  constructor(ratio: number) {
    this.#ratio = new TraceIdRatioBasedSampler(ratio);
  }
  shouldSample(
    context: Context,
    traceId: string,
    _name: string,
    _kind: SpanKind,
    attributes: Attributes,
    _links: Link[],
  ): SamplingResult {
    if (attributes[HEAD_SAMPLED] === true) return { decision: SamplingDecision.RECORD_AND_SAMPLED };
    return this.#ratio.shouldSample(context, traceId);
  }
  toString(): string {
    return `HeadSampledRoots{${this.#ratio.toString()}}`;
  }
}

/** Options of `setupTracing`. Unset fields come from the standard `OTEL_*` environment variables. */
export interface TracingOptions {
  /**
   * Where spans go. Default: OTLP over HTTP when `OTEL_TRACES_EXPORTER=otlp` or an
   * `OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT` is set (the exporter reads its own `OTEL_EXPORTER_OTLP_*`
   * settings); otherwise nothing is exported and `setupTracing` returns undefined.
   */
  exporter?: SpanExporter;
  /** Export each span at once (tests) instead of in batches. Default false. */
  immediate?: boolean;
  /**
   * Fraction of new traces sampled, 0–1; a trace continued from a caller keeps the caller's
   * decision. Default: `OTEL_TRACES_SAMPLER_ARG` with a `*traceidratio` sampler, else 1.
   */
  sampleRatio?: number;
  /** `service.name`. Default: `OTEL_SERVICE_NAME`, else `agentfleet`. */
  serviceName?: string;
  /** Record prompts and completions on model spans. Default: `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`. */
  captureContent?: boolean;
  /** Environment to read. Default `process.env`. */
  env?: Record<string, string | undefined>;
}

/** A running tracer provider; `shutdown()` flushes and unregisters it. */
export interface TracingHandle {
  readonly provider: NodeTracerProvider;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

const schema = z.object({
  sampleRatio: z.number().min(0).max(1).optional(),
  serviceName: z.string().min(1).optional(),
  captureContent: z.boolean().optional(),
  immediate: z.boolean().optional(),
});

/**
 * Registers an OpenTelemetry tracer provider (W3C trace context, AsyncLocalStorage context)
 * and switches Agentfleet's spans on. Returns undefined, changing nothing, when no exporter is
 * given or configured: tracing costs nothing unless asked for.
 * @throws InvalidOptionsError for a ratio outside 0–1 or a malformed `OTEL_TRACES_SAMPLER_ARG`.
 */
export function setupTracing(options: TracingOptions = {}): TracingHandle | undefined {
  const env = options.env ?? process.env;
  const sampler = env.OTEL_TRACES_SAMPLER ?? '';
  const envRatio =
    sampler.endsWith('traceidratio') && env.OTEL_TRACES_SAMPLER_ARG !== undefined
      ? Number(env.OTEL_TRACES_SAMPLER_ARG)
      : undefined;
  const o = parseOptions('tracing', schema, {
    sampleRatio: options.sampleRatio ?? envRatio,
    serviceName: options.serviceName ?? env.OTEL_SERVICE_NAME,
    captureContent:
      options.captureContent ?? env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT === 'true',
    immediate: options.immediate,
  });
  let exporter = options.exporter;
  if (exporter === undefined) {
    const wanted =
      env.OTEL_TRACES_EXPORTER === 'otlp' ||
      (env.OTEL_TRACES_EXPORTER === undefined &&
        (env.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined ||
          env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined));
    if (!wanted) return undefined;
    exporter = new OTLPTraceExporter();
  }
  const provider = new NodeTracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({ 'service.name': o.serviceName ?? 'agentfleet' }),
    ),
    sampler: new ParentBasedSampler({ root: new HeadSampledRoots(o.sampleRatio ?? 1) }),
    spanProcessors: [
      o.immediate === true ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter),
    ],
  });
  provider.register();
  enableTracing(true, { captureContent: o.captureContent, rootRatio: o.sampleRatio ?? 1 });
  let closed: Promise<void> | undefined;
  return {
    provider,
    forceFlush: () => provider.forceFlush(),
    shutdown() {
      closed ??= (async () => {
        enableTracing(false);
        await provider.shutdown();
        trace.disable();
        context.disable();
        propagation.disable();
      })();
      return closed;
    },
  };
}
