import { createVendorProvider, type Provider, type VendorProviderConfig } from '../llm/index.ts';
import { parseResiliencePolicy, ResiliencePolicy, type ResiliencePolicyConfig } from '../resilience/index.ts';
import { withResilience } from './resilient-provider.ts';

/** One provider's settings: the vendor's (preset, base URL, key, pool, concurrency) and a resilience policy. */
export interface ProviderConfig extends VendorProviderConfig {
  /**
   * A resilience policy for every call (rate limit → breaker → retry → bulkhead → timeout),
   * validated here; see `ResiliencePolicy`. The policy is named after the provider.
   */
  resilience?: ResiliencePolicyConfig;
}

/**
 * Creates the provider `name` from its config, preset and environment (`<NAME>_BASE_URL`, the
 * preset's key variable), wrapped in its resilience policy when it has one. Throws
 * `INVALID_OPTIONS`, `UNKNOWN_PROVIDER`, `PROVIDER_CONFIG_INVALID` or `RESILIENCE_CONFIG_INVALID`.
 */
export function createProvider(
  name: string,
  config: ProviderConfig = {},
  env: Record<string, string | undefined> = process.env,
): Provider {
  if (typeof config !== 'object' || config === null || config.resilience === undefined) {
    return createVendorProvider(name, config, env);
  }
  const { resilience, ...vendor } = config;
  const provider = createVendorProvider(name, vendor, env);
  let policy: ResiliencePolicy;
  try {
    policy = new ResiliencePolicy(name, parseResiliencePolicy(resilience));
  } catch (error) {
    void provider.close();
    throw error;
  }
  const resilient = withResilience(provider, policy, { ownsPolicy: true });
  const stats = provider.stats?.bind(provider);
  return stats === undefined ? resilient : { ...resilient, stats };
}
