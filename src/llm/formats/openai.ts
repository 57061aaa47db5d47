import { errorFromVendor, vendorErrorOf } from '../errors.ts';
import { readJsonError } from '../http.ts';
import { eventJson, type WireFormat } from '../http-provider.ts';
import { estimateInput as estimateInputFor, type StreamState } from '../stream-state.ts';
import type {
  FinishReason,
  GenerateRequest,
  GenerateResult,
  Message,
  StreamEvent,
  ToolCall,
} from '../types.ts';
import { asArray, asObject, asString, optionalNumber } from './read.ts';

// OpenAI Chat Completions (https://platform.openai.com/docs/api-reference/chat), also spoken by
// Qwen (DashScope compatible mode), Zhipu GLM, DeepSeek, Moonshot, Ollama, vLLM and llama.cpp.

function message(m: Message): Record<string, unknown> {
  switch (m.role) {
    case 'system':
    case 'user':
      return { role: m.role, content: m.content };
    case 'assistant':
      return m.toolCalls !== undefined && m.toolCalls.length > 0
        ? {
            role: 'assistant',
            content: m.content === '' ? null : m.content,
            tool_calls: m.toolCalls.map((c) => ({
              id: c.id,
              type: 'function',
              function: { name: c.name, arguments: c.arguments },
            })),
          }
        : { role: 'assistant', content: m.content };
    case 'tool':
      return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
  }
}

export function openAiBody(request: GenerateRequest, stream: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = { model: request.model, messages: request.messages.map(message) };
  if (request.tools !== undefined && request.tools.length > 0) {
    body.tools = request.tools.map((t) => ({
      type: 'function',
      function: { name: t.name, description: t.description, parameters: t.parameters },
    }));
  }
  const choice = request.toolChoice;
  if (choice !== undefined) {
    body.tool_choice =
      typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
  }
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.topP !== undefined) body.top_p = request.topP;
  if (request.maxTokens !== undefined) body.max_tokens = request.maxTokens;
  if (request.stop !== undefined) body.stop = request.stop;
  const format = request.responseFormat;
  if (format?.type === 'json') body.response_format = { type: 'json_object' };
  if (format?.type === 'json_schema') {
    body.response_format = {
      type: 'json_schema',
      json_schema: { name: format.name, schema: format.schema, strict: format.strict ?? true },
    };
  }
  if (stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  return body;
}

export function openAiFinish(reason: unknown): FinishReason {
  switch (reason) {
    case 'stop':
      return 'stop';
    case 'length':
      return 'length';
    case 'tool_calls':
    case 'function_call':
      return 'tool_calls';
    case 'content_filter':
      return 'content_filter';
    default:
      return 'other';
  }
}

function toolCalls(provider: string, value: unknown): ToolCall[] {
  if (value === undefined || value === null) return [];
  return asArray(provider, value, 'message.tool_calls').map((raw, i) => {
    const call = asObject(provider, raw, `tool_calls[${i}]`);
    const fn = asObject(provider, call.function, `tool_calls[${i}].function`);
    const args = fn.arguments;
    return {
      id: asString(provider, call.id, `tool_calls[${i}].id`),
      name: asString(provider, fn.name, `tool_calls[${i}].function.name`),
      arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}),
    };
  });
}

/** Reads a Chat Completions answer. */
export function openAiResult(
  provider: string,
  json: unknown,
  estimate: () => GenerateResult['usage'],
): GenerateResult {
  const body = asObject(provider, json, 'body');
  if (isErrorObject(body.error) && body.choices === undefined) {
    throw errorFromVendor(provider, vendorErrorOf(body.error), undefined, 'an error body with status 200');
  }
  const choice = asObject(provider, asArray(provider, body.choices, 'choices')[0], 'choices[0]');
  const msg = asObject(provider, choice.message, 'choices[0].message');
  const calls = toolCalls(provider, msg.tool_calls);
  const usage =
    body.usage === undefined || body.usage === null ? undefined : asObject(provider, body.usage, 'usage');
  const text =
    msg.content === null || msg.content === undefined ? '' : asString(provider, msg.content, 'content');
  return {
    text,
    toolCalls: calls,
    finishReason:
      calls.length > 0 && choice.finish_reason !== 'length'
        ? 'tool_calls'
        : openAiFinish(choice.finish_reason),
    usage:
      usage === undefined
        ? estimate()
        : {
            inputTokens: optionalNumber(provider, usage.prompt_tokens, 'usage.prompt_tokens') ?? 0,
            outputTokens: optionalNumber(provider, usage.completion_tokens, 'usage.completion_tokens') ?? 0,
            reported: true,
          },
    ...(typeof body.id === 'string' ? { id: body.id } : {}),
    ...(typeof body.model === 'string' ? { modelVersion: body.model.slice(0, 256) } : {}),
  };
}

function isErrorObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Handles one Chat Completions chunk; `[DONE]` completes the answer. */
export function openAiEvent(provider: string, data: string, state: StreamState, out: StreamEvent[]): boolean {
  if (data === '[DONE]') return true;
  const chunk = eventJson(provider, { data, event: undefined, id: undefined });
  if (chunk.error !== undefined && chunk.error !== null) {
    throw errorFromVendor(provider, vendorErrorOf(chunk.error), undefined, 'the stream reported an error');
  }
  if (state.modelVersion === undefined && typeof chunk.model === 'string')
    state.modelVersion = chunk.model.slice(0, 256);
  const usage = chunk.usage;
  if (usage !== undefined && usage !== null) {
    const u = asObject(provider, usage, 'usage');
    state.usage(
      optionalNumber(provider, u.prompt_tokens, 'usage.prompt_tokens'),
      optionalNumber(provider, u.completion_tokens, 'usage.completion_tokens'),
      out,
    );
  }
  const choices = chunk.choices === undefined ? [] : asArray(provider, chunk.choices, 'choices');
  for (const raw of choices) {
    const choice = asObject(provider, raw, 'choice');
    if (choice.index !== undefined && choice.index !== 0) continue;
    const delta =
      choice.delta === undefined || choice.delta === null ? {} : asObject(provider, choice.delta, 'delta');
    if (typeof delta.content === 'string') state.textDelta(delta.content, out);
    if (delta.tool_calls !== undefined && delta.tool_calls !== null) {
      for (const [i, rawCall] of asArray(provider, delta.tool_calls, 'delta.tool_calls').entries()) {
        const call = asObject(provider, rawCall, 'delta.tool_calls[]');
        const fn = call.function === undefined ? {} : asObject(provider, call.function, 'function');
        const index = typeof call.index === 'number' ? call.index : i;
        state.toolCall(
          index,
          typeof call.id === 'string' ? call.id : undefined,
          typeof fn.name === 'string' ? fn.name : undefined,
          typeof fn.arguments === 'string' ? fn.arguments : '',
          out,
        );
      }
    }
    if (choice.finish_reason !== undefined && choice.finish_reason !== null) {
      state.finishReason = openAiFinish(choice.finish_reason);
    }
  }
  return false;
}

/** The Chat Completions wire format at `baseUrl` (whose path ends before `/chat/completions`). */
export function openAiFormat(provider: string): WireFormat {
  return {
    path: () => '/chat/completions',
    headers: (stream) => (stream ? { accept: 'text/event-stream' } : { accept: 'application/json' }),
    body: openAiBody,
    result: (json, request) =>
      openAiResult(provider, json, () => ({
        inputTokens: estimateInputFor(request),
        outputTokens: 0,
        reported: false,
      })),
    event: (event, state, out) => openAiEvent(provider, event.data, state, out),
    readError: readJsonError,
  };
}
