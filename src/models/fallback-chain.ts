import { trace } from '@opentelemetry/api';
import { AgentfleetError } from '../errors/index.ts';
import type { CallOptions, GenerateRequest, GenerateResult, Provider } from '../llm/index.ts';

/** How a fallback chain reached its answer. */
export interface FallbackRecord {
  /** The step that answered: `<provider>/<model>`, or `rule`. */
  answeredBy: string;
  /** The steps that failed first, in order, with their error codes. */
  skipped: Array<{ step: string; code: string }>;
}

/** A fallback chain's answer: a provider's result, with `fallback` set when a step was skipped. */
export interface FallbackResult extends GenerateResult {
  /** Set when a step before the answering one failed, or the rule answered: which step did, and why the ones before it did not. */
  fallback?: FallbackRecord;
}

/** A provider that is a fallback chain: its results carry the `FallbackRecord`. */
export interface FallbackProvider extends Provider {
  generate(request: GenerateRequest, options?: CallOptions): Promise<FallbackResult>;
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
export function fallbackChain(options: FallbackChainOptions): FallbackProvider {
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
    async generate(request, callOptions): Promise<FallbackResult> {
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
      const result: FallbackResult = {
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
