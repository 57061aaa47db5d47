// Test helpers for a running server that authenticates: the admin key tests start it with,
// and a fresh tenant with a key.

import type { RunningServer } from '../src/server/index.ts';
import { issueApiKey, type TenantQuotas } from '../src/tenancy/index.ts';

/** The admin key test servers are started with (`loadServerConfig({}, { adminKey: TEST_ADMIN_KEY })`). */
export const TEST_ADMIN_KEY = 'test-admin-key-0123456789';

/** Creates a tenant in the server's registry and returns its id and an `Authorization` header value. */
export async function createTestTenant(
  app: RunningServer,
  id: string,
  quotas: TenantQuotas = {},
): Promise<{ id: string; key: string; authorization: string }> {
  await app.registry.createTenant({ id, quotas });
  const { key } = await issueApiKey(app.registry, id);
  return { id, key, authorization: `Bearer ${key}` };
}
