import { z } from 'zod';
import { AbortedError, parseOptions } from '../errors/index.ts';
import type { Embedder } from './embedder.ts';
import { malformed } from './errors.ts';
import { dashScopeFormat } from './formats/dashscope.ts';
import { openAiFormat } from './formats/openai.ts';
import { type HttpOptions, VendorHttp } from './http.ts';

/** Options of `createEmbeddings`. */
export interface EmbeddingsConfig {
  /** `openai`: any OpenAI-compatible `POST /embeddings`; `dashscope`: DashScope's native text-embedding API. */
  kind: 'openai' | 'dashscope';
  /** For `openai`, up to `/v1`; for `dashscope`, up to `/api/v1`. */
  baseUrl: string;
  apiKey?: string;
  model: string;
  /** Vector length the model returns (sent as `dimensions` / `dimension`). */
  dimensions: number;
  /** Texts per request. Default 64 (OpenAI), 10 (DashScope, its limit). */
  batchSize?: number;
  headers?: Record<string, string>;
  http?: HttpOptions;
}

const schema = z.strictObject({
  kind: z.enum(['openai', 'dashscope']),
  baseUrl: z.url({ protocol: /^https?$/ }),
  apiKey: z.string().min(1).optional(),
  model: z.string().min(1),
  dimensions: z.number().int().min(1).max(65_536),
  batchSize: z.number().int().min(1).max(2_048).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  http: z.unknown().optional(),
});

/** Provider embeddings: an `Embedder` whose `id` is `<kind>:<model>:<dimensions>` and that holds a connection pool. */
export type ProviderEmbedder = Embedder & { readonly id: string; close(): Promise<void> };

/**
 * Embeddings from a vendor, in batches, validated and L2-normalised (so they fit the knowledge
 * base's indexes). Responses are checked (one finite vector of the right
 * length per text, in order) and normalised; errors are the provider layer's typed errors
 * (`LLM_RATE_LIMITED` with the vendor's Retry-After, `LLM_SERVER_ERROR`, `LLM_MALFORMED_RESPONSE`, …).
 */
export function createEmbeddings(config: EmbeddingsConfig): ProviderEmbedder {
  const c = parseOptions('embeddings', schema, config);
  const name = `${c.kind}-embeddings`;
  const format = c.kind === 'openai' ? openAiFormat(name) : dashScopeFormat(name);
  const http = new VendorHttp(name, c.baseUrl, (c.http ?? {}) as HttpOptions, (body) =>
    format.readError(body),
  );
  const headers = {
    ...c.headers,
    ...(c.apiKey === undefined ? {} : { authorization: `Bearer ${c.apiKey}` }),
  };
  const batchSize = c.batchSize ?? (c.kind === 'openai' ? 64 : 10);

  const batch = async (texts: string[], signal: AbortSignal | undefined): Promise<Float32Array[]> => {
    const path = c.kind === 'openai' ? '/embeddings' : '/services/embeddings/text-embedding/text-embedding';
    const body =
      c.kind === 'openai'
        ? { model: c.model, input: texts, dimensions: c.dimensions, encoding_format: 'float' }
        : { model: c.model, input: { texts }, parameters: { dimension: c.dimensions } };
    const response = await http.post(path, body, headers, signal);
    let json: unknown;
    const text = await http.text(response, signal);
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw malformed(name, `the body is not JSON (${text.slice(0, 80)})`, error);
    }
    const items =
      c.kind === 'openai'
        ? ((json as { data?: Array<{ index?: number; embedding?: unknown }> }).data ?? []).map((d) => ({
            index: d.index,
            vector: d.embedding,
          }))
        : (
            (json as { output?: { embeddings?: Array<{ text_index?: number; embedding?: unknown }> } }).output
              ?.embeddings ?? []
          ).map((d) => ({ index: d.text_index, vector: d.embedding }));
    if (items.length !== texts.length) {
      throw malformed(name, `${items.length} embeddings for ${texts.length} texts`);
    }
    const out = new Array<Float32Array>(texts.length);
    for (const item of items) {
      const { index, vector } = item;
      if (typeof index !== 'number' || index < 0 || index >= texts.length || out[index] !== undefined) {
        throw malformed(name, `an embedding has a missing or repeated index (${index})`);
      }
      if (
        !Array.isArray(vector) ||
        vector.length !== c.dimensions ||
        !vector.every((x) => Number.isFinite(x))
      ) {
        throw malformed(name, `embedding ${index} is not ${c.dimensions} finite numbers`);
      }
      const v = Float32Array.from(vector as number[]);
      let norm = 0;
      for (let i = 0; i < v.length; i++) norm += v[i]! * v[i]!;
      const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
      for (let i = 0; i < v.length; i++) v[i]! *= scale;
      out[index] = v;
    }
    return out;
  };

  return {
    dimensions: c.dimensions,
    id: `${c.kind}:${c.model}:${c.dimensions}`,
    async embed(texts, options = {}) {
      const { signal } = options;
      const result: Float32Array[] = [];
      for (let i = 0; i < texts.length; i += batchSize) {
        if (signal?.aborted)
          throw new AbortedError('The embedding call was aborted.', { cause: signal.reason });
        result.push(...(await batch(texts.slice(i, i + batchSize), signal)));
      }
      return result;
    },
    close: () => http.close(),
  };
}
