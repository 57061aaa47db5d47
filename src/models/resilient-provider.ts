import { AgentfleetError } from '../errors/index.ts';
import type { CallOptions, GenerateRequest, Provider, StreamEvent } from '../llm/index.ts';
import type { ResiliencePolicy } from '../resilience/index.ts';

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
    async destroy(error) {
      await (provider.destroy === undefined ? provider.close() : provider.destroy(error));
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
