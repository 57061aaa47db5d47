import { trace } from '@opentelemetry/api';
import { AgentfleetError } from '../errors/index.ts';
import type { CallOptions, GenerateRequest, GenerateResult, Provider, StreamEvent } from '../llm/index.ts';
import type { ResiliencePolicy } from './policy.ts';

/**
 * A provider whose calls go through a policy (rate limit → breaker → retry → bulkhead →
 * timeout). `generate` gets all of it. A stream cannot be retried once it has started, so
 * `stream` is only rate-limited and counted by the breaker (its first event decides).
 */
export function withResilience(
  provider: Provider,
  policy: ResiliencePolicy,
  options: { ownsPolicy?: boolean } = {},
): Provider {
  return {
    name: provider.name,
    generate: (request, options = {}) =>
      policy.execute((signal) => provider.generate(request, signal === undefined ? {} : { signal }), {
        key: `${provider.name}/${request.model}`,
        signal: options.signal,
      }),
    stream: (request, options) =>
      streamThrough(policy, provider, request, options, `${provider.name}/${request.model}`),
    async close() {
      await provider.close();
      if (options.ownsPolicy === true) await policy.close();
    },
  };
}

/**
 * A stream under a policy: rate-limited under `key` and judged by the breaker on its first
 * event (a stream that has started cannot be retried).
 */
export async function* streamThrough(
  policy: ResiliencePolicy,
  provider: Provider,
  request: GenerateRequest,
  options: CallOptions | undefined,
  key: string,
): AsyncGenerator<StreamEvent> {
  let first: StreamEvent | undefined;
  const iterator = provider.stream(request, options)[Symbol.asyncIterator]();
  try {
    first = await policy.execute(
      async () => {
        const step = await iterator.next();
        if (step.done)
          throw new AgentfleetError('LLM_MALFORMED_RESPONSE', 'The stream ended without an event.');
        if (step.value.type === 'error') throw step.value.error;
        return step.value;
      },
      { key, signal: options?.signal },
    );
  } catch (error) {
    yield { type: 'error', error: error as Error };
    return;
  }
  yield first;
  for (;;) {
    const step = await iterator.next();
    if (step.done) return;
    yield step.value;
  }
}

/** One step of a fallback chain: a provider and the model to ask it for. */
export interface FallbackStep {
  provider: Provider;
  model: string;
}

/** Options of `fallbackChain`. */
export interface FallbackChainOptions {
  /** Tried in order until one answers (give each its own `withResilience` policy). */
  steps: FallbackStep[];
  /** The last resort when every step failed: a rule answer (text). Without it, the last error is thrown. */
  ruleAnswer?: (request: GenerateRequest, skipped: Array<{ step: string; code: string }>) => string;
  /** Which errors move on to the next step. Default: every error but an abort. */
  shouldFallBack?: (error: unknown) => boolean;
}

/**
 * A provider that answers with the first step that works: primary model → cheaper model →
 * a rule answer. The result's `fallback` records which step answered and why the others were
 * skipped; so does the active span (`agentfleet.fallback.*`). The request's own `model` is
 * replaced by each step's. Streams fall back only before their first event.
 */
export function fallbackChain(options: FallbackChainOptions): Provider {
  if (options.steps.length === 0 && options.ruleAnswer === undefined) {
    throw new AgentfleetError(
      'INVALID_OPTIONS',
      'A fallback chain needs at least one step or a rule answer.',
    );
  }
  const shouldFallBack =
    options.shouldFallBack ??
    ((error: unknown) => !(AgentfleetError.isInstance(error) && error.code === 'ABORTED'));
  const name = `fallback(${options.steps.map((s) => `${s.provider.name}/${s.model}`).join(' → ')})`;
  const record = (answeredBy: string, skipped: Array<{ step: string; code: string }>) => {
    const span = trace.getActiveSpan();
    if (span !== undefined && (skipped.length > 0 || answeredBy === 'rule')) {
      span.setAttribute('agentfleet.fallback.answered_by', answeredBy);
      span.setAttribute(
        'agentfleet.fallback.skipped',
        skipped.map((s) => `${s.step}: ${s.code}`),
      );
    }
    return { answeredBy, skipped };
  };
  return {
    name,
    async generate(request, callOptions) {
      const skipped: Array<{ step: string; code: string }> = [];
      let last: unknown;
      for (const step of options.steps) {
        const label = `${step.provider.name}/${step.model}`;
        try {
          const result = await step.provider.generate({ ...request, model: step.model }, callOptions);
          return skipped.length === 0 ? result : { ...result, fallback: record(label, skipped) };
        } catch (error) {
          if (!shouldFallBack(error)) throw error;
          last = error;
          skipped.push({ step: label, code: (error as { code?: string }).code ?? 'INTERNAL' });
        }
      }
      if (options.ruleAnswer === undefined) throw last;
      const text = options.ruleAnswer(request, skipped);
      const result: GenerateResult = {
        text,
        toolCalls: [],
        finishReason: 'stop',
        usage: { inputTokens: 0, outputTokens: 0, reported: false },
        fallback: record('rule', skipped),
      };
      return result;
    },
    async *stream(request, callOptions) {
      const skipped: Array<{ step: string; code: string }> = [];
      for (const step of options.steps) {
        const label = `${step.provider.name}/${step.model}`;
        const iterator = step.provider
          .stream({ ...request, model: step.model }, callOptions)
          [Symbol.asyncIterator]();
        const first = await iterator.next();
        if (!first.done && first.value.type === 'error' && shouldFallBack(first.value.error)) {
          skipped.push({ step: label, code: (first.value.error as { code?: string }).code ?? 'INTERNAL' });
          continue;
        }
        if (skipped.length > 0) record(label, skipped);
        if (!first.done) yield first.value;
        for (;;) {
          const next = await iterator.next();
          if (next.done) return;
          yield next.value;
        }
      }
      if (options.ruleAnswer === undefined) {
        yield {
          type: 'error',
          error: new AgentfleetError(
            'ALL_FALLBACKS_FAILED',
            `Every step failed: ${skipped.map((s) => `${s.step} ${s.code}`).join(', ')}`,
          ),
        };
        return;
      }
      const text = options.ruleAnswer(request, skipped);
      record('rule', skipped);
      const usage = { inputTokens: 0, outputTokens: 0, reported: false };
      yield { type: 'text-delta', text };
      yield { type: 'finish', reason: 'stop', usage, text, toolCalls: [] };
    },
    async close() {
      await Promise.all(options.steps.map((s) => s.provider.close()));
    },
  };
}
