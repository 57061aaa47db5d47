// Embeddings on the fake vendor: OpenAI's POST /v1/embeddings and DashScope's native
// text-embedding endpoint, with deterministic vectors (a hash of the text) so tests can check
// order and batching. Scenarios by header: server (500), ratelimit (429), malformed (one
// vector short). Never part of the product.
import type { ServerResponse } from 'node:http';
import { json } from './sse.ts';

/** A deterministic, not normalised vector for `text`. */
export function fakeVector(text: string, dimensions: number): number[] {
  const v: number[] = [];
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  for (let i = 0; i < dimensions; i++) {
    h = Math.imul(h ^ (i + 1), 16777619);
    v.push(((h >>> 0) / 2 ** 32) * 2 - 1);
  }
  return v;
}

function fault(res: ServerResponse, scenario: string | undefined, dashscope: boolean): boolean {
  if (scenario === 'server') {
    json(
      res,
      500,
      dashscope
        ? { code: 'InternalError', message: 'boom' }
        : { error: { message: 'boom', type: 'server_error' } },
    );
    return true;
  }
  if (scenario === 'ratelimit') {
    res.setHeader('retry-after', '1');
    json(
      res,
      429,
      dashscope
        ? { code: 'Throttling', message: 'slow down' }
        : { error: { message: 'slow down', type: 'rate_limit_error' } },
    );
    return true;
  }
  return false;
}

export function renderOpenAiEmbeddings(
  res: ServerResponse,
  body: Record<string, unknown>,
  scenario: string | undefined,
): void {
  if (fault(res, scenario, false)) return;
  const input = typeof body.input === 'string' ? [body.input] : (body.input as string[]);
  const dimensions = typeof body.dimensions === 'number' ? body.dimensions : 64;
  const texts = scenario === 'malformed' ? input.slice(1) : input;
  json(res, 200, {
    object: 'list',
    model: body.model,
    data: texts.map((t, index) => ({ object: 'embedding', index, embedding: fakeVector(t, dimensions) })),
    usage: { prompt_tokens: input.join(' ').length, total_tokens: input.join(' ').length },
  });
}

export function renderDashScopeEmbeddings(
  res: ServerResponse,
  body: Record<string, unknown>,
  scenario: string | undefined,
): void {
  if (fault(res, scenario, true)) return;
  const texts = ((body.input as { texts?: string[] } | undefined)?.texts ?? []) as string[];
  const dimensions = (body.parameters as { dimension?: number } | undefined)?.dimension ?? 64;
  const out = scenario === 'malformed' ? texts.slice(1) : texts;
  // DashScope may return embeddings out of order; text_index says which is which.
  const embeddings = out.map((t, i) => ({ text_index: i, embedding: fakeVector(t, dimensions) })).reverse();
  json(res, 200, {
    output: { embeddings },
    usage: { total_tokens: texts.join('').length },
    request_id: 'fake',
  });
}
