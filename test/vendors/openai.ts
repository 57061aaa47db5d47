// OpenAI Chat Completions as documented (https://platform.openai.com/docs/api-reference/chat).
import type { ServerResponse } from 'node:http';
import { type Answer, type Body, type MidStreamError, pieces, type SeenRequest, tokens } from './scenario.ts';
import { json, type SseEvent, writeStream } from './sse.ts';

export function readOpenAi(body: Body): SeenRequest {
  const messages = (body.messages ?? []) as Body[];
  const lastUser = messages.filter((m) => m.role === 'user').at(-1);
  return {
    lastUserText: typeof lastUser?.content === 'string' ? lastUser.content : '',
    toolResults: messages.filter((m) => m.role === 'tool').map((m) => String(m.content)),
    tools: ((body.tools ?? []) as Body[]).map((t) => ({
      name: t.function?.name,
      parameters: t.function?.parameters ?? {},
    })),
    characters: JSON.stringify(messages).length,
  };
}

const ERRORS = {
  auth: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' },
  ratelimit: { message: 'Rate limit reached for requests', type: 'requests', code: 'rate_limit_exceeded' },
  server: {
    message: 'The server had an error while processing your request.',
    type: 'server_error',
    code: null,
  },
  context: {
    message:
      "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.",
    type: 'invalid_request_error',
    code: 'context_length_exceeded',
  },
};

/** Error objects OpenAI sends inside a stream (`data: {"error":{…}}`) or in a body. */
export const OPENAI_MID_ERRORS: Record<MidStreamError, Body> = {
  ratelimit: {
    message: 'Rate limit reached for requests',
    type: 'requests',
    param: null,
    code: 'rate_limit_exceeded',
  },
  server: {
    message: 'The server had an error while processing your request. Sorry about that!',
    type: 'server_error',
    param: null,
    code: null,
  },
  overloaded: {
    message: 'That model is currently overloaded with other requests.',
    type: 'server_error',
    param: null,
    code: null,
  },
  context: ERRORS.context,
  inspection: {
    message: 'The response was filtered due to the prompt triggering the content management policy.',
    type: 'invalid_request_error',
    param: 'prompt',
    code: 'content_filter',
  },
  badrequest: {
    message: "Invalid value for 'temperature': expected a number between 0 and 2.",
    type: 'invalid_request_error',
    param: 'temperature',
    code: 'invalid_value',
  },
};

export function renderOpenAi(
  res: ServerResponse,
  body: Body,
  seen: SeenRequest,
  a: Answer,
  nousage: boolean,
): void {
  if (a.kind === 'error') {
    json(res, a.status, { error: ERRORS[a.error] }, a.error === 'ratelimit' ? { 'retry-after': '7' } : {});
    return;
  }
  if (a.kind === 'error200' || (a.kind === 'midstream' && !body.stream)) {
    json(res, 200, { error: OPENAI_MID_ERRORS[a.kind === 'error200' ? 'ratelimit' : a.error] });
    return;
  }
  const id = 'chatcmpl-mock';
  const created = 1_764_000_000;
  const model = body.model;
  const text = a.kind === 'text' ? a.text : '';
  const calls = a.kind === 'calls' ? a.calls : [];
  const usage = {
    prompt_tokens: tokens(seen.characters),
    completion_tokens: tokens(text.length + calls.reduce((n, c) => n + c.arguments.length, 0)),
    total_tokens: 0,
  };
  usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
  const finish = calls.length > 0 ? 'tool_calls' : 'stop';
  if (!body.stream) {
    if (a.kind === 'stall') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{');
      return;
    }
    if (a.kind === 'reset') {
      res.socket?.destroy();
      return;
    }
    if (a.kind === 'malformed') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id":"chatcmpl-mock","choices":[{"message":');
      return;
    }
    json(res, 200, {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: calls.length > 0 ? null : text,
            ...(calls.length > 0
              ? {
                  tool_calls: calls.map((c) => ({
                    id: c.id,
                    type: 'function',
                    function: { name: c.name, arguments: c.arguments },
                  })),
                }
              : {}),
          },
          finish_reason: finish,
        },
      ],
      ...(nousage ? {} : { usage }),
    });
    return;
  }
  const chunk = (delta: Body, finishReason: string | null = null): SseEvent => ({
    data: {
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      choices: [{ index: 0, delta, finish_reason: finishReason }],
    },
  });
  const events: SseEvent[] = [chunk({ role: 'assistant', content: '' })];
  for (const piece of pieces(text || (a.kind === 'text' ? '' : 'partial answer'), 3))
    events.push(chunk({ content: piece }));
  const split = a.kind === 'calls' && a.splitName === true;
  for (const [index, c] of calls.entries()) {
    const cut = split ? Math.ceil(c.name.length / 2) : c.name.length;
    events.push(
      chunk({
        tool_calls: [
          { index, id: c.id, type: 'function', function: { name: c.name.slice(0, cut), arguments: '' } },
        ],
      }),
    );
    if (split) events.push(chunk({ tool_calls: [{ index, function: { name: c.name.slice(cut) } }] }));
    for (const piece of pieces(c.arguments, 4))
      events.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
  }
  events.push(chunk({}, finish));
  if (body.stream_options?.include_usage && !nousage) {
    events.push({ data: { id, object: 'chat.completion.chunk', created, model, choices: [], usage } });
  }
  if (!(a.kind === 'text' && a.unterminated === true)) events.push({ data: '[DONE]' });
  if (a.kind === 'midstream') {
    writeStream(res, events, 'error', { data: { error: OPENAI_MID_ERRORS[a.error] } });
    return;
  }
  writeStream(
    res,
    events,
    a.kind === 'malformed' || a.kind === 'reset' || a.kind === 'stall' ? a.kind : undefined,
  );
}
