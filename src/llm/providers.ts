import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { AgentfleetError, parseOptions } from '../errors/index.ts';
import {
  parseResiliencePolicy,
  ResiliencePolicy,
  type ResiliencePolicyConfig,
  withResilience,
} from '../resilience/index.ts';
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

/** One provider's settings; unset fields come from its preset and the environment. */
export interface ProviderConfig {
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
  /**
   * A resilience policy for every call (rate limit → breaker → retry → bulkhead → timeout),
   * validated here; see `ResiliencePolicy`. The policy is named after the provider.
   */
  resilience?: ResiliencePolicyConfig;
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
  resilience: z.unknown().optional(),
});

/** Creates the provider `name` from its config, preset and environment (`<NAME>_BASE_URL`, the preset's key variable). */
export function createProvider(
  name: string,
  config: ProviderConfig = {},
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
  const provider = new HttpProvider(
    name,
    baseUrl,
    format,
    { ...c.headers, ...auth },
    c.http ?? {},
    c.concurrency as ConcurrencyOptions | undefined,
  );
  if (c.resilience === undefined) return provider;
  const policy = new ResiliencePolicy(name, parseResiliencePolicy(c.resilience));
  const resilient = withResilience(provider, policy, { ownsPolicy: true });
  return { ...resilient, stats: () => provider.stats() };
}

/**
 * Providers by name, so agents name a model as `provider/model` (`openai/gpt-4o-mini`,
 * `vllm/meta-llama/Llama-3.1-8B` — everything after the first `/` is the vendor's model name).
 */
export class ModelRegistry {
  readonly #providers = new Map<string, Provider>();

  constructor(providers: Record<string, Provider> = {}) {
    for (const [name, provider] of Object.entries(providers)) this.#providers.set(name, provider);
  }

  /** Builds providers from a config object (`{ providers: { name: ProviderConfig } }`). */
  static fromConfig(config: unknown, env: Record<string, string | undefined> = process.env): ModelRegistry {
    const parsed = parseOptions(
      'model config',
      z.strictObject({ providers: z.record(z.string(), z.unknown()) }),
      config,
    );
    const registry = new ModelRegistry();
    for (const [name, provider] of Object.entries(parsed.providers)) {
      registry.add(createProvider(name, provider as ProviderConfig, env));
    }
    return registry;
  }

  /** Reads a JSON config file; `PROVIDER_CONFIG_INVALID` when it cannot be read or parsed. */
  static fromFile(path: string, env: Record<string, string | undefined> = process.env): ModelRegistry {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new AgentfleetError(
        'PROVIDER_CONFIG_INVALID',
        `Cannot read ${path}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new AgentfleetError(
        'PROVIDER_CONFIG_INVALID',
        `${path} is not JSON: ${(error as Error).message}`,
        { cause: error },
      );
    }
    return ModelRegistry.fromConfig(json, env);
  }

  add(provider: Provider): this {
    this.#providers.set(provider.name, provider);
    return this;
  }

  /** `provider/model` → the provider and the vendor's model name; `UNKNOWN_PROVIDER` or `INVALID_MODEL` otherwise. */
  resolve(ref: string): { provider: Provider; model: string } {
    const slash = typeof ref === 'string' ? ref.indexOf('/') : -1;
    if (slash <= 0 || slash === ref.length - 1) {
      throw new AgentfleetError(
        'INVALID_MODEL',
        `A model is named provider/model; got ${JSON.stringify(ref)}.`,
      );
    }
    const name = ref.slice(0, slash);
    const provider = this.#providers.get(name);
    if (provider === undefined) {
      throw new AgentfleetError(
        'UNKNOWN_PROVIDER',
        `No provider named ${name}; configured: ${[...this.#providers.keys()].join(', ') || 'none'}.`,
      );
    }
    return { provider, model: ref.slice(slash + 1) };
  }

  async close(): Promise<void> {
    await Promise.all([...this.#providers.values()].map((p) => p.close()));
  }
}
