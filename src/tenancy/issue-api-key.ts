import { generateApiKey } from './api-keys.ts';
import type { ApiKeyRecord, TenantRegistry } from './registry.ts';

/**
 * Generates a key for a tenant and stores its hash. The plaintext is in the result only:
 * hand it to the client now, it cannot be recovered later.
 * @throws TenantNotFoundError
 */
export async function issueApiKey(
  registry: TenantRegistry,
  tenantId: string,
  name = 'default',
): Promise<{ key: string; record: ApiKeyRecord }> {
  const generated = generateApiKey();
  const record: ApiKeyRecord = {
    id: generated.keyId,
    tenantId,
    name,
    hash: generated.hash,
    createdAt: Date.now(),
    revokedAt: null,
  };
  await registry.addKey(record);
  return { key: generated.key, record };
}
