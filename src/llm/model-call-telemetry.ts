import { type Span, SpanKind } from '@opentelemetry/api';
import {
  agentfleetTracer,
  contentCaptureEnabled,
  type ModelCallEvent,
  modelCallChannel,
  recordFailure,
  wouldRecord,
} from '../context/index.ts';
import type { FinishReason, GenerateRequest, Usage } from './types.ts';

/**
 * Watches one model call for telemetry: a `chat <model>` span (kind CLIENT) with the
 * OpenTelemetry GenAI attributes, and a `modelCallChannel` event when it ends. Created only
 * when someone listens (`watchModelCall` returns undefined otherwise).
 */
export class ModelCallWatch {
  readonly #provider: string;
  readonly #model: string;
  readonly #mode: 'generate' | 'stream';
  readonly #began = performance.now();
  readonly #span: Span | undefined;

  constructor(provider: string, request: GenerateRequest, mode: 'generate' | 'stream', traced: boolean) {
    this.#provider = provider;
    this.#model = request.model;
    this.#mode = mode;
    if (traced) {
      this.#span = agentfleetTracer().startSpan(`chat ${request.model}`, {
        kind: SpanKind.CLIENT,
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': provider,
          'gen_ai.request.model': request.model,
          ...(request.temperature === undefined ? {} : { 'gen_ai.request.temperature': request.temperature }),
          ...(request.maxTokens === undefined ? {} : { 'gen_ai.request.max_tokens': request.maxTokens }),
          ...(request.topP === undefined ? {} : { 'gen_ai.request.top_p': request.topP }),
          ...(contentCaptureEnabled() ? { 'gen_ai.input.messages': JSON.stringify(request.messages) } : {}),
        },
      });
    }
  }

  /** The call answered. */
  succeeded(result: {
    finishReason: FinishReason;
    usage: Usage;
    id?: string;
    text: string;
    toolCalls: unknown[];
  }): void {
    const span = this.#span;
    if (span !== undefined) {
      span.setAttributes({
        'gen_ai.response.model': this.#model,
        'gen_ai.response.finish_reasons': [result.finishReason],
        'gen_ai.usage.input_tokens': result.usage.inputTokens,
        'gen_ai.usage.output_tokens': result.usage.outputTokens,
      });
      if (result.id !== undefined) span.setAttribute('gen_ai.response.id', result.id);
      if (contentCaptureEnabled()) {
        span.setAttribute(
          'gen_ai.output.messages',
          JSON.stringify([{ role: 'assistant', content: result.text, tool_calls: result.toolCalls }]),
        );
      }
      span.end();
    }
    this.#publish(result.usage, undefined);
  }

  /** The call failed. */
  failed(error: unknown): void {
    if (this.#span !== undefined) {
      recordFailure(this.#span, error);
      this.#span.end();
    }
    const code = (error as { code?: unknown } | null)?.code;
    this.#publish(undefined, typeof code === 'string' ? code : 'INTERNAL');
  }

  #publish(usage: Usage | undefined, errorCode: string | undefined): void {
    if (!modelCallChannel.hasSubscribers) return;
    const event: ModelCallEvent = {
      provider: this.#provider,
      model: this.#model,
      mode: this.#mode,
      durationMs: performance.now() - this.#began,
      inputTokens: usage?.inputTokens,
      outputTokens: usage?.outputTokens,
      errorCode,
    };
    modelCallChannel.publish(event);
  }
}

/** A watch for this call, or undefined when neither tracing nor a metrics listener is on. */
export function watchModelCall(
  provider: string,
  request: GenerateRequest,
  mode: 'generate' | 'stream',
): ModelCallWatch | undefined {
  const traced = wouldRecord();
  if (!traced && !modelCallChannel.hasSubscribers) return undefined;
  return new ModelCallWatch(provider, request, mode, traced);
}
