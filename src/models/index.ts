export { createProvider, type ProviderConfig } from './create-provider.ts';
export type { ModelsErrorCode } from './error-codes.ts';
export {
  type FallbackChainOptions,
  type FallbackProvider,
  type FallbackRecord,
  type FallbackResult,
  type FallbackStep,
  fallbackChain,
} from './fallback-chain.ts';
export {
  canonicalJson,
  type ModelsConfig,
  modelsConfigSchema,
  modelsVersion,
  parseModelsConfig,
} from './models-config.ts';
export {
  ModelRegistry,
  type ModelRegistryOptions,
  type ModelsReloadSummary,
  parseModelsJson,
  readModelsFile,
  unreadable,
} from './registry.ts';
export { streamThrough, withResilience } from './resilient-provider.ts';
