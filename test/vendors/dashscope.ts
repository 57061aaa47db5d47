// DashScope's native text generation API as documented (result_format "message", incremental_output, X-DashScope-SSE).
import type { ServerResponse } from 'node:http';
import { readOpenAi } from './openai.ts';
import { type Answer, type Body, type MidStreamError, pieces, type SeenRequest, tokens } from './scenario.ts';
import { json, sseHeaders } from './sse.ts';

export function readDashScope(body: Body): SeenRequest {
  return readOpenAi({ messages: body.input?.messages, tools: body.parameters?.tools });
}

const ERRORS = {
  auth: [401, 'InvalidApiKey', 'Invalid API-key provided.'],
  ratelimit: [429, 'Throttling.RateQuota', 'Requests rate limit exceeded, please try again later.'],
  server: [500, 'InternalError', 'An internal error has occured, please try again later.'],
  context: [400, 'InvalidParameter', 'Range of input length should be [1, 30720]'],
} as const;

/** DashScope's documented codes (status, code, message) for errors inside a stream. */
export const DASHSCOPE_MID_ERRORS: Record<MidStreamError, readonly [number, string, string]> = {
  ratelimit: ERRORS.ratelimit,
  server: ERRORS.server,
  overloaded: [
    500,
    'InternalError.Algo',
    'An internal error has occured during execution, please try again later.',
  ],
  context: ERRORS.context,
  inspection: [400, 'DataInspectionFailed', 'Output data may contain inappropriate content.'],
  badrequest: [
    400,
    'InvalidParameter',
    'Role must be user or assistant and Content length must be greater than 0',
  ],
};

export function renderDashScope(
  res: ServerResponse,
  body: Body,
  seen: SeenRequest,
  a: Answer,
  stream: boolean,
  nousage: boolean,
): void {
  const requestId = 'b2c8b5a4-mock';
  if (a.kind === 'error') {
    const [status, code, message] = ERRORS[a.error];
    json(
      res,
      status,
      { code, message, request_id: requestId },
      a.error === 'ratelimit' ? { 'retry-after': '7' } : {},
    );
    return;
  }
  if (a.kind === 'error200' || (a.kind === 'midstream' && !stream)) {
    const [, code, message] = DASHSCOPE_MID_ERRORS[a.kind === 'error200' ? 'ratelimit' : a.error];
    json(res, 200, { code, message, request_id: requestId });
    return;
  }
  const text = a.kind === 'text' ? a.text : '';
  const calls = a.kind === 'calls' ? a.calls : [];
  const usage = {
    input_tokens: tokens(seen.characters),
    output_tokens: tokens(text.length + calls.reduce((n, c) => n + c.arguments.length, 0)),
    total_tokens: 0,
  };
  usage.total_tokens = usage.input_tokens + usage.output_tokens;
  const finish = calls.length > 0 ? 'tool_calls' : 'stop';
  const messageFormat = body.parameters?.result_format === 'message' || calls.length > 0;
  const output = (content: string, toolCalls: Body[] | undefined, reason: string) =>
    messageFormat
      ? {
          choices: [
            {
              finish_reason: reason,
              message: { role: 'assistant', content, ...(toolCalls ? { tool_calls: toolCalls } : {}) },
            },
          ],
        }
      : { text: content, finish_reason: reason };
  if (!stream) {
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
      res.end('{"output":{"choices":[');
      return;
    }
    const toolCalls =
      calls.length > 0
        ? calls.map((c) => ({
            id: c.id,
            type: 'function',
            function: { name: c.name, arguments: c.arguments },
          }))
        : undefined;
    json(res, 200, {
      output: output(text, toolCalls, finish),
      ...(nousage ? {} : { usage }),
      request_id: requestId,
    });
    return;
  }
  const datas: Body[] = [];
  const incremental = body.parameters?.incremental_output === true;
  let sofar = '';
  for (const piece of pieces(text || (a.kind === 'text' ? '' : 'partial answer'), 3)) {
    sofar += piece;
    datas.push({ output: output(incremental ? piece : sofar, undefined, 'null') });
  }
  const split = a.kind === 'calls' && a.splitName === true;
  for (const [index, c] of calls.entries()) {
    const cut = split ? Math.ceil(c.name.length / 2) : c.name.length;
    datas.push({
      output: output(
        '',
        [{ index, id: c.id, type: 'function', function: { name: c.name.slice(0, cut), arguments: '' } }],
        'null',
      ),
    });
    if (split) {
      datas.push({
        output: output(
          '',
          [{ index, id: '', type: 'function', function: { name: c.name.slice(cut) } }],
          'null',
        ),
      });
    }
    for (const piece of pieces(c.arguments, 4)) {
      datas.push({
        output: output('', [{ index, id: '', type: 'function', function: { arguments: piece } }], 'null'),
      });
    }
  }
  datas.push({ output: output('', undefined, finish) });
  sseHeaders(res);
  let out = '';
  if (a.kind === 'midstream') {
    // `id:N / event:error / :HTTP_STATUS/429 / data:{code,message,request_id}` after two results
    const [status, code, message] = DASHSCOPE_MID_ERRORS[a.error];
    for (const [i, data] of datas.slice(0, 2).entries()) {
      out += `id:${i + 1}\nevent:result\n:HTTP_STATUS/200\ndata:${JSON.stringify({ ...data, request_id: requestId })}\n\n`;
    }
    out += `id:3\nevent:error\n:HTTP_STATUS/${status}\ndata:${JSON.stringify({ code, message, request_id: requestId })}\n\n`;
    res.end(out);
    return;
  }
  for (const [i, data] of datas.entries()) {
    const full = { ...data, ...(nousage ? {} : { usage }), request_id: requestId };
    const line = a.kind === 'malformed' && i === 1 ? '{"output": [ oops' : JSON.stringify(full);
    out += `id:${i + 1}\nevent:result\n:HTTP_STATUS/200\ndata:${line}\n\n`;
    if (a.kind === 'stall' && i === 0) {
      res.write(out);
      return;
    }
    if (a.kind === 'reset' && i === 1) {
      res.write(out);
      setImmediate(() => res.socket?.destroy());
      return;
    }
  }
  res.end(out);
}
