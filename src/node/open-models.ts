import { type ModelPrices, modelPricesSchema } from '../budgets/index.ts';
import type { ServerConfig } from '../config/index.ts';
import { AgentfleetError, parseOptions } from '../errors/index.ts';
import { PRESETS } from '../llm/index.ts';
import { ModelRegistry, type ModelsConfig, parseModelsConfig, readModelsFile } from '../models/index.ts';

/**
 * The model providers of a node. With `modelsFile`, those of the file (see `watchModels` for
 * its reloads); with `models.providers` in the config, exactly those (keys from each preset's
 * env variable when not given). Without either, every preset the environment enables: its API
 * key variable is set (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`, `DASHSCOPE_API_KEY`, …) or its
 * base URL is (`OLLAMA_BASE_URL`, `VLLM_BASE_URL`, …).
 * @throws the models config's typed error (`PROVIDER_CONFIG_INVALID`, `INVALID_OPTIONS`, …), naming the file
 */
export function openModels(config: ServerConfig, env: Record<string, string | undefined>): ModelRegistry {
  if (config.modelsFile !== undefined) {
    const file = config.modelsFile;
    return namingFile(file, () => ModelRegistry.fromConfig(checkModelsConfig(readModelsFile(file)), env));
  }
  if (config.models !== undefined) return ModelRegistry.fromConfig(config.models, env);
  const providers: Record<string, object> = {};
  for (const [name, preset] of Object.entries(PRESETS)) {
    const envName = name.toUpperCase();
    const key = preset.keyEnv === undefined ? undefined : env[preset.keyEnv];
    if ((key !== undefined && key !== '') || (env[`${envName}_BASE_URL`] ?? '') !== '') providers[name] = {};
  }
  return ModelRegistry.fromConfig({ providers }, env);
}

/**
 * A models config's shape and prices, checked before any provider is built.
 * @throws InvalidOptionsError (`INVALID_OPTIONS`)
 */
export function checkModelsConfig(config: unknown): ModelsConfig & { prices: ModelPrices } {
  const parsed = parseModelsConfig(config);
  return { ...parsed, prices: parseOptions('model prices', modelPricesSchema, parsed.prices) };
}

/** Runs `fn`; a typed error it throws is thrown again with the file's path in front of its message. */
export function namingFile<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (!AgentfleetError.isInstance(error) || error.message.includes(file)) throw error;
    throw new AgentfleetError(error.code, `${file}: ${error.message}`, {
      cause: error,
      ...(error.details === undefined ? {} : { details: error.details }),
    });
  }
}
