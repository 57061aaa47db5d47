import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { AgentfleetError, parseOptions } from '../errors/index.ts';
import type { Provider } from '../llm/index.ts';
import { createProvider, type ProviderConfig } from './create-provider.ts';

/**
 * Providers by name, so agents name a model as `provider/model` (`openai/gpt-4o-mini`,
 * `vllm/meta-llama/Llama-3.1-8B` — everything after the first `/` is the vendor's model name).
 */
export class ModelRegistry {
  readonly #providers = new Map<string, Provider>();

  constructor(providers: Record<string, Provider> = {}) {
    for (const [name, provider] of Object.entries(providers)) this.#providers.set(name, provider);
  }

  /**
   * Builds providers from a config object (`{ providers: { name: ProviderConfig } }`); its
   * `prices` are the budgets' (see `TokenBudgetGate`), not the registry's.
   */
  static fromConfig(config: unknown, env: Record<string, string | undefined> = process.env): ModelRegistry {
    const parsed = parseOptions(
      'model config',
      z.strictObject({ providers: z.record(z.string(), z.unknown()), prices: z.unknown().optional() }),
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
