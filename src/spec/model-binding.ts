import { AgentfleetError } from '../errors/index.ts';
import { PRESETS, type Provider } from '../llm/index.ts';
import { fallbackChain, type ModelRegistry } from '../models/index.ts';
import { ModelNotConfiguredError } from './errors.ts';

/** The setting that configures `provider`: its key variable, or its entry in the node's models config. */
export function settingFor(provider: string): string {
  const preset = PRESETS[provider];
  if (preset?.keyEnv !== undefined) return preset.keyEnv;
  const env = provider.toUpperCase().replace(/[^A-Z0-9]/g, '_');
  return `models.providers.${provider} (or ${env}_BASE_URL)`;
}

function providerOf(ref: string): string {
  return ref.slice(0, Math.max(0, ref.indexOf('/')));
}

function resolveOne(models: ModelRegistry | undefined, ref: string): { provider: Provider; model: string } {
  if (models === undefined)
    throw new ModelNotConfiguredError(ref, providerOf(ref), settingFor(providerOf(ref)));
  try {
    return models.resolve(ref);
  } catch (error) {
    if (AgentfleetError.isInstance(error) && error.code === 'UNKNOWN_PROVIDER') {
      throw new ModelNotConfiguredError(ref, providerOf(ref), settingFor(providerOf(ref)));
    }
    throw error;
  }
}

/**
 * The provider an agent's model calls go to: the primary model, then each configured
 * fallback in order (unconfigured fallbacks are skipped). Resolved when a message arrives,
 * so a node without the provider's key still loads the spec. The registry's providers are
 * stable across its reloads; with fallbacks, the chain is bound again when the registry's
 * version changes, so a fallback a reload adds (or removes) counts from its next call.
 * @throws ModelNotConfiguredError (`MODEL_NOT_CONFIGURED`) when the primary model's provider is not configured
 */
export function bindModel(
  models: ModelRegistry | undefined,
  model: string,
  fallbacks: readonly string[] = [],
): { provider: Provider; model: string } {
  const first = bindOnce(models, model, fallbacks);
  if (models === undefined || fallbacks.length === 0) return first;
  let version = models.version;
  let current = first.provider;
  const now = (): Provider => {
    if (models.version !== version) {
      version = models.version;
      try {
        current = bindOnce(models, model, fallbacks).provider;
      } catch {
        // The primary is gone: the chain bound before fails on it (PROVIDER_REMOVED) and falls back.
      }
    }
    return current;
  };
  return {
    provider: {
      get name() {
        return now().name;
      },
      generate: (request, options) => now().generate(request, options),
      stream: (request, options) => now().stream(request, options),
      close: () => current.close(),
    },
    model: first.model,
  };
}

function bindOnce(
  models: ModelRegistry | undefined,
  model: string,
  fallbacks: readonly string[],
): { provider: Provider; model: string } {
  const primary = resolveOne(models, model);
  const steps = [primary];
  for (const ref of fallbacks) {
    try {
      steps.push(resolveOne(models, ref));
    } catch (error) {
      if (!(error instanceof ModelNotConfiguredError)) throw error;
    }
  }
  if (steps.length === 1) return primary;
  return { provider: fallbackChain({ steps }), model: primary.model };
}
