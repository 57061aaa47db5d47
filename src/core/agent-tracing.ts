import { context, type SpanContext, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { agentfleetTracer, inSpan, recordFailure } from '../context/index.ts';

/** The span names and attributes of the seed's agent lifecycle (section 2.5). */

const RUNTIME = `node-${process.versions.node}`;

/**
 * Opens `agent.start` (kind SERVER: the agent begins serving) with `agent.id`, `agent.version`
 * and `agent.runtime`. `end(error?)` closes it when the start settles.
 */
export function startAgentSpan(
  agentId: string,
  definition: { name: string; version: string },
  tenant: string | undefined,
): { spanContext: SpanContext; end: (error: unknown) => void } {
  const attributes: Record<string, string> = {
    'agent.id': agentId,
    'agent.version': definition.version,
    'agent.runtime': RUNTIME,
    'agent.definition': definition.name,
  };
  if (tenant !== undefined) attributes['tenant.id'] = tenant;
  const span = agentfleetTracer().startSpan('agent.start', { kind: SpanKind.SERVER, attributes });
  return {
    spanContext: span.spanContext(),
    end: (error) => {
      if (error !== undefined) recordFailure(span, error);
      span.end();
    },
  };
}

/**
 * Runs one step inside `agent.decision` (kind INTERNAL), a child of whatever is active (the
 * HTTP request or bus message that brought the input) linked to the agent's `agent.start`.
 * Adds, from the decision cognition made (`message.decision`, set by the step before it
 * acts; never the action's reply): `decision.type` (its `type`, `action`, `status` or
 * `value` field — a rule engine's decision has `value` — else the definition) and
 * `decision.confidence` (rounded to 3 places, when it has one); and `decision.latency.ms`.
 */
export function tracedStep<M extends { readonly decision: unknown }>(
  agentId: string,
  definition: string,
  tenant: string | undefined,
  startSpan: SpanContext | undefined,
  step: (message: M) => unknown,
  message: M,
): unknown {
  const began = performance.now();
  const attributes: Record<string, string> = { 'agent.id': agentId, 'agent.definition': definition };
  if (tenant !== undefined) attributes['tenant.id'] = tenant;
  return inSpan('agent.decision', SpanKind.INTERNAL, attributes, () => step(message), {
    links: startSpan === undefined ? undefined : [startSpan],
    onResult: (span) => {
      const d = message.decision as Record<string, unknown> | null | undefined;
      const isObject = typeof d === 'object' && d !== null;
      const named = isObject ? (d.type ?? d.action ?? d.status ?? d.value) : undefined;
      span.setAttribute('decision.type', typeof named === 'string' ? named : definition);
      if (isObject && typeof d.confidence === 'number' && Number.isFinite(d.confidence)) {
        span.setAttribute('decision.confidence', Math.round(d.confidence * 1000) / 1000);
      }
      span.setAttribute('decision.latency.ms', Math.round(performance.now() - began));
    },
  });
}

/**
 * Records `agent.terminate` (kind CLIENT), a child of `agent.start`, from the moment `stop()`
 * was called to now, with `termination.reason`: `success` (stopped with nothing left undone),
 * `stopped` (waiting messages were rejected), `timeout` (forced at the deadline) or `error`.
 */
export function agentTerminateSpan(
  agentId: string,
  tenant: string | undefined,
  startSpan: SpanContext | undefined,
  reason: 'success' | 'stopped' | 'timeout' | 'error',
  stopBeganAt: number,
  error: unknown,
): void {
  const parent =
    startSpan === undefined ? context.active() : trace.setSpanContext(context.active(), startSpan);
  const attributes: Record<string, string> = { 'agent.id': agentId, 'termination.reason': reason };
  if (tenant !== undefined) attributes['tenant.id'] = tenant;
  const span = agentfleetTracer().startSpan(
    'agent.terminate',
    { kind: SpanKind.CLIENT, attributes, startTime: stopBeganAt === 0 ? undefined : stopBeganAt },
    parent,
  );
  if (reason === 'error') {
    if (error !== undefined) recordFailure(span, error);
    else span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}
