import type { ServerConfig } from '../config/index.ts';
import { PRESETS } from '../llm/index.ts';
import { ModelRegistry } from '../models/index.ts';

/**
 * The model providers of a node. With `models.providers` in the config, exactly those (keys
 * from each preset's env variable when not given). Without, every preset the environment
 * enables: its API key variable is set (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`,
 * `DASHSCOPE_API_KEY`, …) or its base URL is (`OLLAMA_BASE_URL`, `VLLM_BASE_URL`, …).
 */
export function openModels(config: ServerConfig, env: Record<string, string | undefined>): ModelRegistry {
  if (config.models !== undefined) return ModelRegistry.fromConfig(config.models, env);
  const providers: Record<string, object> = {};
  for (const [name, preset] of Object.entries(PRESETS)) {
    const envName = name.toUpperCase();
    const key = preset.keyEnv === undefined ? undefined : env[preset.keyEnv];
    if ((key !== undefined && key !== '') || (env[`${envName}_BASE_URL`] ?? '') !== '') providers[name] = {};
  }
  return ModelRegistry.fromConfig({ providers }, env);
}
