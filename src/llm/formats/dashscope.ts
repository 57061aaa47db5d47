import { errorFromVendor, type VendorError } from '../errors.ts';
import type { VendorEvent } from '../http.ts';
import { eventJson, type WireFormat } from '../http-provider.ts';
import { estimateInput, type StreamState } from '../stream-state.ts';
import type { FinishReason, GenerateRequest, GenerateResult, StreamEvent } from '../types.ts';
import { openAiBody, openAiFinish } from './openai.ts';
import { asArray, asObject, asString, optionalNumber } from './read.ts';

// DashScope's native text generation API
// (https://help.aliyun.com/zh/model-studio/developer-reference/use-qwen-by-calling-api):
// `input.messages`, `parameters`, answers in `output.choices` (result_format "message") or
// `output.text`; streaming with `X-DashScope-SSE: enable` and `incremental_output`.

function body(request: GenerateRequest, stream: boolean): Record<string, unknown> {
  const chat = openAiBody(request, false); // messages and tools are spelled as in Chat Completions
  const parameters: Record<string, unknown> = { result_format: 'message' };
  for (const key of ['tools', 'tool_choice', 'temperature', 'top_p', 'max_tokens', 'stop'] as const) {
    if (chat[key] !== undefined) parameters[key] = chat[key];
  }
  if (request.responseFormat !== undefined && request.responseFormat.type !== 'text') {
    parameters.response_format = { type: 'json_object' };
  }
  if (stream) parameters.incremental_output = true;
  return { model: request.model, input: { messages: chat.messages }, parameters };
}

function finish(reason: unknown): FinishReason | undefined {
  return reason === undefined || reason === null || reason === 'null' ? undefined : openAiFinish(reason);
}

/** `{code, message, request_id}`; the body may also be a server-sent `event:error` (`data:{…}`). */
function readError(text: string): VendorError {
  const data = /^data:\s?(.*)$/m.exec(text)?.[1];
  try {
    const parsed = JSON.parse(data ?? text) as Record<string, unknown>;
    const message = typeof parsed.message === 'string' ? parsed.message : text.slice(0, 500);
    return typeof parsed.code === 'string' && parsed.code !== ''
      ? { message, code: parsed.code }
      : { message };
  } catch {
    return { message: text.slice(0, 500) || 'no body' };
  }
}

/** An error answer: a non-empty `code` and no `output` (DashScope's shape, whatever the status). */
function errorAnswer(body: Record<string, unknown>): VendorError | undefined {
  if (typeof body.code !== 'string' || body.code === '' || body.output !== undefined) return undefined;
  return {
    code: body.code,
    message: typeof body.message === 'string' ? body.message : JSON.stringify(body).slice(0, 500),
  };
}

function usageOf(
  provider: string,
  body: Record<string, unknown>,
): { input?: number; output?: number } | undefined {
  if (body.usage === undefined || body.usage === null) return undefined;
  const u = asObject(provider, body.usage, 'usage');
  const input = optionalNumber(provider, u.input_tokens, 'usage.input_tokens');
  const output = optionalNumber(provider, u.output_tokens, 'usage.output_tokens');
  return { ...(input === undefined ? {} : { input }), ...(output === undefined ? {} : { output }) };
}

function result(provider: string, json: unknown, request: GenerateRequest): GenerateResult {
  const b = asObject(provider, json, 'body');
  const failure = errorAnswer(b);
  if (failure !== undefined)
    throw errorFromVendor(provider, failure, undefined, 'an error body with status 200');
  const output = asObject(provider, b.output, 'output');
  let text = '';
  let reason: unknown = output.finish_reason;
  const toolCalls: GenerateResult['toolCalls'] = [];
  if (output.choices !== undefined) {
    const choice = asObject(
      provider,
      asArray(provider, output.choices, 'output.choices')[0],
      'output.choices[0]',
    );
    const message = asObject(provider, choice.message, 'choices[0].message');
    text = typeof message.content === 'string' ? message.content : '';
    reason = choice.finish_reason;
    for (const [i, raw] of (message.tool_calls === undefined
      ? []
      : asArray(provider, message.tool_calls, 'tool_calls')
    ).entries()) {
      const call = asObject(provider, raw, `tool_calls[${i}]`);
      const fn = asObject(provider, call.function, `tool_calls[${i}].function`);
      toolCalls.push({
        id: asString(provider, call.id, `tool_calls[${i}].id`),
        name: asString(provider, fn.name, `tool_calls[${i}].function.name`),
        arguments: typeof fn.arguments === 'string' ? fn.arguments : JSON.stringify(fn.arguments ?? {}),
      });
    }
  } else text = asString(provider, output.text, 'output.text');
  const usage = usageOf(provider, b);
  return {
    text,
    toolCalls,
    finishReason: toolCalls.length > 0 ? 'tool_calls' : (finish(reason) ?? 'stop'),
    usage:
      usage === undefined
        ? { inputTokens: estimateInput(request), outputTokens: 0, reported: false }
        : { inputTokens: usage.input ?? 0, outputTokens: usage.output ?? 0, reported: true },
    ...(typeof b.request_id === 'string' ? { id: b.request_id } : {}),
  };
}

function event(provider: string, e: VendorEvent, state: StreamState, out: StreamEvent[]): boolean {
  const b = eventJson(provider, e);
  // `id:1 / event:error / :HTTP_STATUS/429 / data:{"code":"Throttling.RateQuota","message":…}`
  const failure = errorAnswer(b);
  if (e.event === 'error' || failure !== undefined) {
    throw errorFromVendor(
      provider,
      failure ?? { message: typeof b.message === 'string' ? b.message : e.data.slice(0, 500) },
      e.status,
      'the stream reported an error',
    );
  }
  const output = asObject(provider, b.output, 'output');
  let reason: unknown = output.finish_reason;
  if (output.choices !== undefined) {
    for (const raw of asArray(provider, output.choices, 'output.choices')) {
      const choice = asObject(provider, raw, 'choice');
      const message = choice.message === undefined ? {} : asObject(provider, choice.message, 'message');
      if (typeof message.content === 'string') state.textDelta(message.content, out);
      if (message.tool_calls !== undefined) {
        for (const [i, rawCall] of asArray(provider, message.tool_calls, 'tool_calls').entries()) {
          const call = asObject(provider, rawCall, 'tool_calls[]');
          const fn = call.function === undefined ? {} : asObject(provider, call.function, 'function');
          state.toolCall(
            typeof call.index === 'number' ? call.index : i,
            typeof call.id === 'string' && call.id !== '' ? call.id : undefined,
            typeof fn.name === 'string' && fn.name !== '' ? fn.name : undefined,
            typeof fn.arguments === 'string' ? fn.arguments : '',
            out,
          );
        }
      }
      reason = choice.finish_reason;
    }
  } else if (typeof output.text === 'string') state.textDelta(output.text, out);
  const usage = usageOf(provider, b);
  if (usage !== undefined) state.usage(usage.input, usage.output, out);
  const done = finish(reason);
  if (done !== undefined) state.finishReason = done;
  return done !== undefined;
}

/** The DashScope native wire format; `baseUrl` is the origin (`https://dashscope.aliyuncs.com`). */
export function dashScopeFormat(provider: string): WireFormat {
  return {
    path: () => '/api/v1/services/aigc/text-generation/generation',
    headers: (stream): Record<string, string> =>
      stream ? { 'x-dashscope-sse': 'enable', accept: 'text/event-stream' } : { accept: 'application/json' },
    body,
    result: (json, request) => result(provider, json, request),
    event: (e, state, out) => event(provider, e, state, out),
    readError,
  };
}
