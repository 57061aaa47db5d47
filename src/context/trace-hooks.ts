import {
  type Attributes,
  type Context,
  context,
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  trace,
} from '@opentelemetry/api';

/**
 * The hooks every capability calls to trace its work, on the OpenTelemetry API only (no SDK).
 * Until tracing is switched on (`setupTracing`, or `enableTracing` when you register your own
 * SDK) each hook is one boolean check, so untraced hot paths pay nothing measurable.
 */

let enabled = false;
let captureContent = false;
let rootRatio = 1;
let tracer: Tracer | undefined;

/** Attribute on roots `inSpan` head-sampled itself, so the SDK's sampler records them. */
export const HEAD_SAMPLED = 'agentfleet.head_sampled';

/** The context of work whose trace was not sampled: children see it and make no spans. */
const UNSAMPLED = trace.setSpan(ROOT_CONTEXT, trace.wrapSpanContext(INVALID_SPAN_CONTEXT));

/**
 * Switches Agentfleet's spans on or off. `captureContent` also records prompts and
 * completions. `rootRatio` (0–1, default 1) is the share of new traces Agentfleet starts at all:
 * the others skip span creation entirely instead of making non-recording spans, which is most
 * of the cost of an unsampled trace. `setupTracing` sets it to its sample ratio; leave it at 1
 * when your own SDK's sampler should decide.
 */
export function enableTracing(
  on = true,
  options: { captureContent?: boolean; rootRatio?: number } = {},
): void {
  enabled = on;
  captureContent = on && options.captureContent === true;
  rootRatio = options.rootRatio ?? 1;
  tracer = undefined;
}

/** Whether Agentfleet creates spans now. */
export function tracingEnabled(): boolean {
  return enabled;
}

/** Whether prompt and completion content may be recorded on spans. */
export function contentCaptureEnabled(): boolean {
  return captureContent;
}

export function agentfleetTracer(): Tracer {
  tracer ??= trace.getTracer('agentfleet', '0.1.0');
  return tracer;
}

/** Whether spans started now would be recorded: tracing is on and the active trace (if any) is sampled. */
export function wouldRecord(): boolean {
  if (!enabled) return false;
  const active = trace.getActiveSpan();
  return active === undefined || (active.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0;
}

/**
 * Head sampling for a new trace at an edge (an HTTP request without `traceparent`): true when
 * it is dropped. Run dropped work with `runUnsampled`, which makes no span at all.
 */
export function dropNewTrace(): boolean {
  return rootRatio < 1 && Math.random() >= rootRatio;
}

/** Runs `fn` marked as an unsampled trace: nothing inside it makes spans. */
export function runUnsampled<R>(fn: () => R): R {
  return context.with(UNSAMPLED, fn);
}

/** Marks a span failed with the error's code and message. */
export function recordFailure(span: Span, error: unknown): void {
  const code = (error as { code?: unknown } | null)?.code;
  span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message ?? String(error) });
  span.setAttribute('error.type', typeof code === 'string' ? code : ((error as Error)?.name ?? 'Error'));
  if (error instanceof Error) span.recordException(error);
}

/** The W3C `traceparent` of the active span, if any. */
export function activeTraceparent(): string | undefined {
  const span = trace.getActiveSpan();
  if (span === undefined) return undefined;
  const c = span.spanContext();
  if (!trace.isSpanContextValid(c)) return undefined;
  return `00-${c.traceId}-${c.spanId}-${(c.traceFlags & 1) === 1 ? '01' : '00'}`;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A context whose parent is the remote span a `traceparent` names (the root context when it is malformed). */
export function contextFromTraceparent(
  traceparent: string | undefined,
  base: Context = ROOT_CONTEXT,
): Context {
  if (traceparent === undefined) return base;
  const m = TRACEPARENT.exec(traceparent);
  if (m === null) return base;
  const spanContext: SpanContext = {
    traceId: m[1]!,
    spanId: m[2]!,
    traceFlags: Number.parseInt(m[3]!, 16) & 1,
    isRemote: true,
  };
  return trace.isSpanContextValid(spanContext) ? trace.setSpanContext(base, spanContext) : base;
}

/**
 * Runs `fn` inside a new span and ends it when `fn` (or the promise it returns) settles,
 * recording a failure. `onResult` may add attributes from the result.
 */
export function inSpan<R>(
  name: string,
  kind: SpanKind,
  attributes: Attributes,
  fn: (span: Span) => R,
  options: {
    parent?: Context;
    links?: SpanContext[];
    onResult?: (span: Span, result: Awaited<R>) => void;
  } = {},
): R {
  const parent = options.parent ?? context.active();
  const parentSpan = trace.getSpan(parent);
  if (parentSpan !== undefined) {
    // The trace is not sampled: a child would not be recorded either, so do not make one.
    if ((parentSpan.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return fn(parentSpan);
  } else if (rootRatio < 1) {
    // A new trace that head sampling drops: run it marked unsampled, with no span at all.
    if (Math.random() >= rootRatio) return context.with(UNSAMPLED, fn, undefined, trace.getSpan(UNSAMPLED)!);
    attributes = { ...attributes, [HEAD_SAMPLED]: true };
  }
  const span = agentfleetTracer().startSpan(
    name,
    { kind, attributes, links: options.links?.map((c) => ({ context: c })) },
    parent,
  );
  let result: R;
  try {
    result = context.with(trace.setSpan(parent, span), fn, undefined, span);
  } catch (error) {
    recordFailure(span, error);
    span.end();
    throw error;
  }
  if (result instanceof Promise) {
    return result.then(
      (value) => {
        options.onResult?.(span, value as Awaited<R>);
        span.end();
        return value;
      },
      (error: unknown) => {
        recordFailure(span, error);
        span.end();
        throw error;
      },
    ) as R;
  }
  options.onResult?.(span, result as Awaited<R>);
  span.end();
  return result;
}

export { SpanKind };
