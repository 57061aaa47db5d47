// An in-process model for loop tests: each call is answered by a script over the request.
import type { GenerateRequest, GenerateResult, Provider, StreamEvent, ToolCall } from '../src/llm/index.ts';

export type Script = (request: GenerateRequest, call: number) => { text?: string; toolCalls?: ToolCall[] };

/** A provider whose answers come from `script`; `calls` counts model calls. */
export function scriptedProvider(script: Script): Provider & { calls: number } {
  const provider = {
    name: 'scripted',
    calls: 0,
    async generate(request: GenerateRequest, options?: { signal?: AbortSignal }): Promise<GenerateResult> {
      options?.signal?.throwIfAborted();
      const answer = script(request, provider.calls++);
      const toolCalls = answer.toolCalls ?? [];
      return {
        text: answer.text ?? '',
        toolCalls,
        finishReason: toolCalls.length > 0 ? 'tool_calls' : 'stop',
        usage: { inputTokens: 10, outputTokens: 5, reported: true },
      };
    },
    async *stream(request: GenerateRequest, options?: { signal?: AbortSignal }): AsyncIterable<StreamEvent> {
      const result = await provider.generate(request, options);
      if (result.text !== '') yield { type: 'text-delta', text: result.text };
      yield {
        type: 'finish',
        reason: result.finishReason,
        usage: result.usage,
        text: result.text,
        toolCalls: result.toolCalls,
      };
    },
    async close() {},
  };
  return provider;
}

/** Calls `tool` with `args(step)` until the turn has `times` results, then answers with the last result. */
export function toolLoop(tool: string, times: number, args: (n: number) => unknown = () => ({})): Script {
  return (request) => {
    const results = request.messages
      .slice(request.messages.findLastIndex((m) => m.role === 'user'))
      .filter((m) => m.role === 'tool');
    if (results.length < times)
      return {
        toolCalls: [
          {
            id: `call_${results.length + 1}`,
            name: tool,
            arguments: JSON.stringify(args(results.length + 1)),
          },
        ],
      };
    return { text: `done: ${results.at(-1)?.content ?? ''}` };
  };
}
