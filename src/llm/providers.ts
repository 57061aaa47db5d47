import { z } from 'zod';
import { AgentfleetError, parseOptions } from '../errors/index.ts';
import type { ConcurrencyOptions } from './call-gate.ts';
import { anthropicFormat } from './formats/anthropic.ts';
import { dashScopeFormat } from './formats/dashscope.ts';
import { openAiFormat } from './formats/openai.ts';
import type { HttpOptions } from './http.ts';
import { HttpProvider } from './http-provider.ts';
import type { Provider } from './types.ts';

export type ProviderKind = 'openai' | 'anthropic' | 'dashscope';

interface Preset {
  kind: ProviderKind;
  baseUrl: string;
  /** Environment variable holding the API key. */
  keyEnv?: string;
}

/** Vendors known by name. OpenAI-compatible ones share one adapter; the env names are the vendors' own. */
export const PRESETS: Readonly<Record<string, Preset>> = {
  openai: { kind: 'openai', baseUrl: 'https://api.openai.com/v1', keyEnv: 'OPENAI_API_KEY' },
  qwen: {
    kind: 'openai',
    baseUrl: 'https://dashscope.aliyuncs.com/compatible-mode/v1',
    keyEnv: 'DASHSCOPE_API_KEY',
  },
  zhipu: { kind: 'openai', baseUrl: 'https://open.bigmodel.cn/api/paas/v4', keyEnv: 'ZHIPUAI_API_KEY' },
  deepseek: { kind: 'openai', baseUrl: 'https://api.deepseek.com/v1', keyEnv: 'DEEPSEEK_API_KEY' },
  moonshot: { kind: 'openai', baseUrl: 'https://api.moonshot.cn/v1', keyEnv: 'MOONSHOT_API_KEY' },
  ollama: { kind: 'openai', baseUrl: 'http://127.0.0.1:11434/v1' },
  vllm: { kind: 'openai', baseUrl: 'http://127.0.0.1:8000/v1', keyEnv: 'VLLM_API_KEY' },
  llamacpp: { kind: 'openai', baseUrl: 'http://127.0.0.1:8080/v1', keyEnv: 'LLAMACPP_API_KEY' },
  anthropic: { kind: 'anthropic', baseUrl: 'https://api.anthropic.com', keyEnv: 'ANTHROPIC_API_KEY' },
  dashscope: { kind: 'dashscope', baseUrl: 'https://dashscope.aliyuncs.com', keyEnv: 'DASHSCOPE_API_KEY' },
};

/**
 * One vendor provider's settings; unset fields come from its preset and the environment.
 * (`ProviderConfig` in models/ adds a resilience policy.)
 */
export interface VendorProviderConfig {
  /** Which preset to start from (default: the provider's own name, when it is a preset). */
  preset?: string;
  kind?: ProviderKind;
  baseUrl?: string;
  apiKey?: string;
  /** Headers sent on every call (organisation ids, gateways). */
  headers?: Record<string, string>;
  http?: HttpOptions;
  /**
   * A deliberate cap on calls in flight, per provider and per tenant, as a metered queue
   * (`stats().queue`, Prometheus `llm_queue_*`). Default: none — every call goes out at once.
   */
  concurrency?: ConcurrencyOptions;
}

const providerSchema = z.strictObject({
  preset: z.string().optional(),
  kind: z.enum(['openai', 'anthropic', 'dashscope']).optional(),
  baseUrl: z.url({ protocol: /^https?$/ }).optional(),
  apiKey: z.string().min(1).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  http: z
    .strictObject({
      connections: z.number().int().min(1).max(100_000).optional(),
      http2: z.boolean().optional(),
      ca: z.string().min(1).optional(),
      headersTimeoutMs: z.number().int().min(1).optional(),
      idleTimeoutMs: z.number().int().min(1).optional(),
    })
    .optional(),
  concurrency: z
    .strictObject({
      max: z.number().int().min(1).max(1_000_000).optional(),
      perTenant: z.number().int().min(1).max(1_000_000).optional(),
      tenants: z.record(z.string(), z.number().int().min(1).max(1_000_000)).optional(),
      maxQueued: z.number().int().min(0).max(10_000_000).optional(),
    })
    .optional(),
});

/**
 * Creates the vendor provider `name` (no resilience policy) from its config, preset and
 * environment (`<NAME>_BASE_URL`, the preset's key variable). Throws `INVALID_OPTIONS`,
 * `UNKNOWN_PROVIDER` (unknown preset) or `PROVIDER_CONFIG_INVALID` (no base URL).
 */
export function createVendorProvider(
  name: string,
  config: VendorProviderConfig = {},
  env: Record<string, string | undefined> = process.env,
): Provider {
  const c = parseOptions(`provider ${name}`, providerSchema, config);
  const preset = PRESETS[c.preset ?? name];
  if (c.preset !== undefined && preset === undefined) {
    throw new AgentfleetError(
      'UNKNOWN_PROVIDER',
      `No preset named ${c.preset}; known: ${Object.keys(PRESETS).join(', ')}.`,
    );
  }
  const kind = c.kind ?? preset?.kind ?? 'openai';
  const envName = name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
  const baseUrl = c.baseUrl ?? env[`${envName}_BASE_URL`] ?? preset?.baseUrl;
  if (baseUrl === undefined) {
    throw new AgentfleetError(
      'PROVIDER_CONFIG_INVALID',
      `Provider ${name} needs a baseUrl (or ${envName}_BASE_URL).`,
    );
  }
  const apiKey =
    c.apiKey ?? (preset?.keyEnv === undefined ? undefined : env[preset.keyEnv]) ?? env[`${envName}_API_KEY`];
  const auth: Record<string, string> =
    apiKey === undefined
      ? {}
      : kind === 'anthropic'
        ? { 'x-api-key': apiKey }
        : { authorization: `Bearer ${apiKey}` };
  const format =
    kind === 'anthropic'
      ? anthropicFormat(name)
      : kind === 'dashscope'
        ? dashScopeFormat(name)
        : openAiFormat(name);
  return new HttpProvider(
    name,
    baseUrl,
    format,
    { ...c.headers, ...auth },
    c.http ?? {},
    c.concurrency as ConcurrencyOptions | undefined,
  );
}
