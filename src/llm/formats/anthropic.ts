import { errorFromVendor, malformed, vendorErrorOf } from '../errors.ts';
import { readJsonError } from '../http.ts';
import { eventJson, type WireFormat } from '../http-provider.ts';
import type { StreamState } from '../stream-state.ts';
import type {
  FinishReason,
  GenerateRequest,
  GenerateResult,
  Message,
  StreamEvent,
  ToolCall,
} from '../types.ts';
import { asArray, asObject, asString, optionalNumber } from './read.ts';

// The Anthropic Messages API (https://docs.anthropic.com/en/api/messages and .../messages-streaming).

const PROVIDER_DEFAULT_MAX_TOKENS = 4096;

function parseInput(args: string): unknown {
  try {
    return JSON.parse(args === '' ? '{}' : args);
  } catch {
    return {};
  }
}

/** Anthropic takes system text apart, and tool results as user content blocks (consecutive ones merged). */
function messages(list: Message[]): { system: string; messages: Array<Record<string, unknown>> } {
  const system: string[] = [];
  const out: Array<{ role: 'user' | 'assistant'; content: Array<Record<string, unknown>> }> = [];
  const push = (role: 'user' | 'assistant', block: Record<string, unknown>) => {
    const last = out.at(-1);
    if (last?.role === role) last.content.push(block);
    else out.push({ role, content: [block] });
  };
  for (const m of list) {
    if (m.role === 'system') system.push(m.content);
    else if (m.role === 'user') push('user', { type: 'text', text: m.content });
    else if (m.role === 'tool') {
      push('user', {
        type: 'tool_result',
        tool_use_id: m.toolCallId,
        content: m.content,
        is_error: m.isError ?? false,
      });
    } else {
      if (m.content !== '') push('assistant', { type: 'text', text: m.content });
      for (const c of m.toolCalls ?? [])
        push('assistant', { type: 'tool_use', id: c.id, name: c.name, input: parseInput(c.arguments) });
    }
  }
  return { system: system.join('\n\n'), messages: out };
}

function body(request: GenerateRequest, stream: boolean): Record<string, unknown> {
  const { system, messages: list } = messages(request.messages);
  let systemText = system;
  const format = request.responseFormat;
  if (format?.type === 'json') systemText += '\n\nAnswer with one JSON value and nothing else.';
  if (format?.type === 'json_schema') {
    systemText += `\n\nAnswer with one JSON value that follows this JSON Schema, and nothing else:\n${JSON.stringify(format.schema)}`;
  }
  const out: Record<string, unknown> = {
    model: request.model,
    max_tokens: request.maxTokens ?? PROVIDER_DEFAULT_MAX_TOKENS,
    messages: list,
  };
  if (systemText.trim() !== '') out.system = systemText.trim();
  if (request.tools !== undefined && request.tools.length > 0) {
    out.tools = request.tools.map((t) => ({
      name: t.name,
      description: t.description,
      input_schema: t.parameters,
    }));
  }
  const choice = request.toolChoice;
  if (choice !== undefined) {
    out.tool_choice =
      choice === 'auto'
        ? { type: 'auto' }
        : choice === 'none'
          ? { type: 'none' }
          : choice === 'required'
            ? { type: 'any' }
            : { type: 'tool', name: choice.name };
  }
  if (request.temperature !== undefined) out.temperature = request.temperature;
  if (request.topP !== undefined) out.top_p = request.topP;
  if (request.stop !== undefined) out.stop_sequences = request.stop;
  if (stream) out.stream = true;
  return out;
}

function finish(reason: unknown): FinishReason {
  switch (reason) {
    case 'end_turn':
    case 'stop_sequence':
    case 'pause_turn':
      return 'stop';
    case 'max_tokens':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'other';
  }
}

function result(provider: string, json: unknown): GenerateResult {
  const b = asObject(provider, json, 'body');
  if (b.type === 'error') {
    throw errorFromVendor(provider, vendorErrorOf(b.error), undefined, 'an error body with status 200');
  }
  let text = '';
  const calls: ToolCall[] = [];
  for (const [i, raw] of asArray(provider, b.content, 'content').entries()) {
    const block = asObject(provider, raw, `content[${i}]`);
    if (block.type === 'text') text += asString(provider, block.text, `content[${i}].text`);
    else if (block.type === 'tool_use') {
      calls.push({
        id: asString(provider, block.id, `content[${i}].id`),
        name: asString(provider, block.name, `content[${i}].name`),
        arguments: JSON.stringify(block.input ?? {}),
      });
    }
  }
  const usage = asObject(provider, b.usage, 'usage');
  return {
    text,
    toolCalls: calls,
    finishReason: finish(b.stop_reason),
    usage: {
      inputTokens: optionalNumber(provider, usage.input_tokens, 'usage.input_tokens') ?? 0,
      outputTokens: optionalNumber(provider, usage.output_tokens, 'usage.output_tokens') ?? 0,
      reported: true,
    },
    ...(typeof b.id === 'string' ? { id: b.id } : {}),
    ...(typeof b.model === 'string' ? { modelVersion: b.model.slice(0, 256) } : {}),
  };
}

/** Tool-use blocks are numbered among themselves, so `index` counts tool calls like the other vendors. */
const toolIndex = new WeakMap<StreamState, Map<number, number>>();

function event(
  provider: string,
  type: string | undefined,
  data: string,
  state: StreamState,
  out: StreamEvent[],
): boolean {
  if (type === 'ping') return false;
  const e = eventJson(provider, { data, event: type, id: undefined });
  const kind = type ?? (typeof e.type === 'string' ? e.type : undefined);
  let indexes = toolIndex.get(state);
  if (indexes === undefined) {
    indexes = new Map();
    toolIndex.set(state, indexes);
  }
  switch (kind) {
    case 'message_start': {
      const message = asObject(provider, e.message, 'message');
      if (typeof message.model === 'string') state.modelVersion = message.model.slice(0, 256);
      const usage =
        message.usage === undefined ? undefined : asObject(provider, message.usage, 'message.usage');
      if (usage !== undefined) {
        state.usage(
          optionalNumber(provider, usage.input_tokens, 'usage.input_tokens'),
          optionalNumber(provider, usage.output_tokens, 'usage.output_tokens'),
          out,
        );
      }
      return false;
    }
    case 'content_block_start': {
      const block = asObject(provider, e.content_block, 'content_block');
      if (block.type === 'tool_use') {
        const index = indexes.size;
        indexes.set(Number(e.index), index);
        state.toolCall(
          index,
          asString(provider, block.id, 'tool_use.id'),
          asString(provider, block.name, 'tool_use.name'),
          '',
          out,
        );
      } else if (block.type === 'text' && typeof block.text === 'string') state.textDelta(block.text, out);
      return false;
    }
    case 'content_block_delta': {
      const delta = asObject(provider, e.delta, 'delta');
      if (delta.type === 'text_delta') state.textDelta(asString(provider, delta.text, 'delta.text'), out);
      else if (delta.type === 'input_json_delta') {
        const index = indexes.get(Number(e.index));
        if (index === undefined)
          throw malformed(provider, `input_json_delta for block ${String(e.index)} that is not a tool_use`);
        state.toolCall(
          index,
          undefined,
          undefined,
          asString(provider, delta.partial_json, 'delta.partial_json'),
          out,
        );
      }
      return false;
    }
    case 'content_block_stop': {
      const index = indexes.get(Number(e.index));
      if (index !== undefined) state.endToolCall(index, out);
      return false;
    }
    case 'message_delta': {
      const delta = e.delta === undefined ? {} : asObject(provider, e.delta, 'delta');
      if (delta.stop_reason !== undefined && delta.stop_reason !== null)
        state.finishReason = finish(delta.stop_reason);
      const usage = e.usage === undefined ? undefined : asObject(provider, e.usage, 'usage');
      if (usage !== undefined) {
        state.usage(
          optionalNumber(provider, usage.input_tokens, 'usage.input_tokens'),
          optionalNumber(provider, usage.output_tokens, 'usage.output_tokens'),
          out,
        );
      }
      return false;
    }
    case 'message_stop':
      return true;
    case 'error':
      // `overloaded_error` (the usual one, retryable), `api_error`, `rate_limit_error`, …
      throw errorFromVendor(provider, vendorErrorOf(e.error), undefined, 'the stream reported an error');
    default:
      return false; // new event types are ignored, as the API docs ask
  }
}

/** The Anthropic Messages wire format. */
export function anthropicFormat(provider: string, version = '2023-06-01'): WireFormat {
  return {
    path: () => '/v1/messages',
    headers: (stream) => ({
      'anthropic-version': version,
      accept: stream ? 'text/event-stream' : 'application/json',
    }),
    body,
    result: (json) => result(provider, json),
    event: (e, state, out) => event(provider, e.event, e.data, state, out),
    readError: readJsonError,
  };
}
