import { createHash } from 'node:crypto';
import { z } from 'zod';
import { parseOptions } from '../errors/index.ts';
import { PRESETS } from '../llm/index.ts';

/**
 * The shape of a models config (`{ providers, prices?, version? }`): each provider's own
 * settings are validated when it is built (`createProvider`), the prices by the budgets
 * (`TokenBudgetGate`). `version` is an optional label shown as `label@hash`.
 */
export const modelsConfigSchema = z.strictObject({
  providers: z.record(z.string().min(1), z.unknown()),
  prices: z.unknown().optional(),
  version: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:+-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_", ":", "+" or "-"')
    .optional(),
});

/** A models config as validated by `modelsConfigSchema`. */
export type ModelsConfig = z.output<typeof modelsConfigSchema>;

/** Validates a models config's outer shape. @throws InvalidOptionsError (`INVALID_OPTIONS`) */
export function parseModelsConfig(config: unknown): ModelsConfig {
  return parseOptions('model config', modelsConfigSchema, config);
}

/** JSON with every object's keys sorted, so equal configs give equal text whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(v).sort()) sorted[key] = (v as Record<string, unknown>)[key];
    return sorted;
  });
}

/** The first 12 hex digits of the SHA-256 of `text`. */
export function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

/**
 * A models config's version: the hash of its content (providers and prices, canonical JSON),
 * as `label@hash` when it has a `version` label.
 */
export function modelsVersion(config: ModelsConfig): string {
  const hash = shortHash(canonicalJson({ providers: config.providers, prices: config.prices ?? null }));
  return config.version === undefined ? hash : `${config.version}@${hash}`;
}

/**
 * What one provider is built from: its config and the environment variables `createProvider`
 * reads for it (`<NAME>_BASE_URL`, `<NAME>_API_KEY`, the preset's key variable), hashed so no
 * key is kept in clear. Equal fingerprints build equal clients.
 */
export function providerFingerprint(
  name: string,
  config: unknown,
  env: Record<string, string | undefined>,
): string {
  const envName = name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
  const presetName = (config as { preset?: unknown } | null)?.preset;
  const preset = PRESETS[typeof presetName === 'string' ? presetName : name];
  const read = [`${envName}_BASE_URL`, `${envName}_API_KEY`, ...(preset?.keyEnv ? [preset.keyEnv] : [])];
  const seen: Record<string, string | null> = {};
  for (const variable of read) seen[variable] = env[variable] ?? null;
  return createHash('sha256')
    .update(canonicalJson({ config: config ?? null, env: seen }))
    .digest('hex');
}
