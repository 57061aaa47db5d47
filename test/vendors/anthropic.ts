// The Anthropic Messages API as documented (https://docs.anthropic.com/en/api/messages, .../messages-streaming).
import type { ServerResponse } from 'node:http';
import { type Answer, type Body, type MidStreamError, pieces, type SeenRequest, tokens } from './scenario.ts';
import { json, type SseEvent, writeStream } from './sse.ts';

export function readAnthropic(body: Body): SeenRequest {
  const messages = (body.messages ?? []) as Body[];
  const blocks = (m: Body): Body[] =>
    typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : (m.content ?? []);
  const userTexts = messages
    .filter((m) => m.role === 'user')
    .flatMap((m) => blocks(m).filter((b) => b.type === 'text'));
  return {
    lastUserText: String(userTexts.at(-1)?.text ?? ''),
    toolResults: messages.flatMap((m) =>
      blocks(m)
        .filter((b) => b.type === 'tool_result')
        .map((b) => String(b.content)),
    ),
    tools: ((body.tools ?? []) as Body[]).map((t) => ({ name: t.name, parameters: t.input_schema ?? {} })),
    characters: JSON.stringify(messages).length + String(body.system ?? '').length,
  };
}

const ERRORS = {
  auth: { type: 'authentication_error', message: 'invalid x-api-key' },
  ratelimit: {
    type: 'rate_limit_error',
    message: 'Number of request tokens has exceeded your per-minute rate limit',
  },
  server: { type: 'api_error', message: 'Internal server error' },
  context: { type: 'invalid_request_error', message: 'prompt is too long: 210000 tokens > 200000 maximum' },
};

/** Error objects of Anthropic's `event: error` (the docs name `overloaded_error` as the usual one). */
export const ANTHROPIC_MID_ERRORS: Record<MidStreamError, { type: string; message: string }> = {
  ratelimit: ERRORS.ratelimit,
  server: ERRORS.server,
  overloaded: { type: 'overloaded_error', message: 'Overloaded' },
  context: ERRORS.context,
  inspection: { type: 'invalid_request_error', message: 'Output blocked by content filtering policy' },
  badrequest: { type: 'invalid_request_error', message: 'max_tokens: Field required' },
};

export function renderAnthropic(res: ServerResponse, body: Body, seen: SeenRequest, a: Answer): void {
  if (a.kind === 'error') {
    json(
      res,
      a.status,
      { type: 'error', error: ERRORS[a.error] },
      a.error === 'ratelimit' ? { 'retry-after': '7' } : {},
    );
    return;
  }
  if (a.kind === 'error200' || (a.kind === 'midstream' && !body.stream)) {
    json(res, 200, {
      type: 'error',
      error: ANTHROPIC_MID_ERRORS[a.kind === 'error200' ? 'ratelimit' : a.error],
    });
    return;
  }
  const text = a.kind === 'text' ? a.text : '';
  const calls = a.kind === 'calls' ? a.calls : [];
  const usage = {
    input_tokens: tokens(seen.characters),
    output_tokens: tokens(text.length + calls.reduce((n, c) => n + c.arguments.length, 0)),
  };
  const stop = calls.length > 0 ? 'tool_use' : 'end_turn';
  const message = {
    id: 'msg_mock',
    type: 'message',
    role: 'assistant',
    model: body.model,
    stop_sequence: null,
  };
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
      res.end('{"id":"msg_mock","content":[');
      return;
    }
    const content = [
      ...(text === '' ? [] : [{ type: 'text', text }]),
      ...calls.map((c) => ({ type: 'tool_use', id: c.id, name: c.name, input: JSON.parse(c.arguments) })),
    ];
    json(res, 200, { ...message, content, stop_reason: stop, usage });
    return;
  }
  const events: SseEvent[] = [
    {
      event: 'message_start',
      data: {
        type: 'message_start',
        message: {
          ...message,
          content: [],
          stop_reason: null,
          usage: { input_tokens: usage.input_tokens, output_tokens: 1 },
        },
      },
    },
    { event: 'ping', data: { type: 'ping' } },
  ];
  let index = 0;
  const streamedText = text || (a.kind === 'text' ? '' : 'partial answer');
  if (streamedText !== '') {
    events.push({
      event: 'content_block_start',
      data: { type: 'content_block_start', index, content_block: { type: 'text', text: '' } },
    });
    for (const piece of pieces(streamedText, 3)) {
      events.push({
        event: 'content_block_delta',
        data: { type: 'content_block_delta', index, delta: { type: 'text_delta', text: piece } },
      });
    }
    events.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index } });
    index++;
  }
  for (const c of calls) {
    events.push({
      event: 'content_block_start',
      data: {
        type: 'content_block_start',
        index,
        content_block: { type: 'tool_use', id: c.id, name: c.name, input: {} },
      },
    });
    for (const piece of pieces(c.arguments, 4)) {
      events.push({
        event: 'content_block_delta',
        data: {
          type: 'content_block_delta',
          index,
          delta: { type: 'input_json_delta', partial_json: piece },
        },
      });
    }
    events.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index } });
    index++;
  }
  events.push({
    event: 'message_delta',
    data: {
      type: 'message_delta',
      delta: { stop_reason: stop, stop_sequence: null },
      usage: { output_tokens: usage.output_tokens },
    },
  });
  if (!(a.kind === 'text' && a.unterminated === true)) {
    events.push({ event: 'message_stop', data: { type: 'message_stop' } });
  }
  if (a.kind === 'midstream') {
    // message_start, ping and the first text, then the error event, as the streaming docs show
    writeStream(
      res,
      events,
      'error',
      { event: 'error', data: { type: 'error', error: ANTHROPIC_MID_ERRORS[a.error] } },
      4,
    );
    return;
  }
  writeStream(
    res,
    events,
    a.kind === 'malformed' || a.kind === 'reset' || a.kind === 'stall' ? a.kind : undefined,
  );
}
