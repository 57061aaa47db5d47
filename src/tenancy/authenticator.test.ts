import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rejectsWithCode } from '../../test/helpers.ts';
import { apiKeyId, apiKeyMatches, bearerToken, generateApiKey, hashApiKey } from './api-keys.ts';
import { Authenticator } from './authenticator.ts';
import { issueApiKey } from './issue-api-key.ts';
import { TenantQuotaGate } from './quota-gate.ts';
import { MemoryTenantRegistry } from './registries/memory.ts';

async function setup(now = () => Date.now()) {
  const registry = new MemoryTenantRegistry();
  await registry.createTenant({ id: 'acme', quotas: { requestsPerPeriod: 2, periodSeconds: 60 } });
  const { key, record } = await issueApiKey(registry, 'acme');
  const quotas = new TenantQuotaGate();
  const auth = new Authenticator({ registry, adminKey: 'admin-secret-0123456789', quotas, now });
  return { registry, key, record, quotas, auth };
}

const attempt = async (auth: Authenticator, header: string | undefined) => {
  try {
    return await auth.authenticate(header);
  } catch (error) {
    return Promise.reject(error);
  }
};

describe('api keys', () => {
  it('have a fixed shape, a public id and a hash that matches only the key', () => {
    const { key, keyId, hash } = generateApiKey();
    assert.match(key, /^af_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    assert.equal(apiKeyId(key), keyId);
    assert.equal(hash, hashApiKey(key));
    assert.ok(apiKeyMatches(key, hash));
    assert.ok(!apiKeyMatches(`${key.slice(0, -1)}x`, hash));
    assert.ok(!apiKeyMatches(key, 'abcd'), 'a malformed stored hash never matches');
    assert.equal(apiKeyId('af_short_x'), undefined);
    assert.equal(bearerToken('Bearer abc'), 'abc');
    assert.equal(bearerToken('bearer   abc  '), 'abc');
    assert.equal(bearerToken('Basic abc'), undefined);
    assert.equal(bearerToken(undefined), undefined);
  });
});

describe('Authenticator', () => {
  it('maps a tenant key to its tenant and the admin key to admin', async () => {
    const { auth, key, record } = await setup();
    const p = await auth.authenticate(`Bearer ${key}`);
    assert.equal(p.kind, 'tenant');
    assert.equal(p.kind === 'tenant' && p.tenant.id, 'acme');
    assert.equal(p.kind === 'tenant' && p.keyId, record.id);
    const cached = auth.authenticate(`Bearer ${key}`);
    assert.ok(!(cached instanceof Promise), 'a cached key authenticates synchronously');
    assert.deepEqual(await auth.authenticate('Bearer admin-secret-0123456789'), { kind: 'admin' });
  });

  it('refuses missing, malformed, unknown, tampered and revoked keys with UNAUTHENTICATED', async () => {
    const { auth, key, registry, record } = await setup();
    await rejectsWithCode(attempt(auth, undefined), 'UNAUTHENTICATED');
    await rejectsWithCode(attempt(auth, 'Token x'), 'UNAUTHENTICATED');
    await rejectsWithCode(attempt(auth, 'Bearer not-a-key'), 'UNAUTHENTICATED');
    await rejectsWithCode(attempt(auth, `Bearer ${generateApiKey().key}`), 'UNAUTHENTICATED');
    const tampered = `${key.slice(0, -2)}${key.endsWith('A') ? 'BB' : 'AA'}`;
    await rejectsWithCode(attempt(auth, `Bearer ${tampered}`), 'UNAUTHENTICATED');
    await registry.revokeKey('acme', record.id);
    auth.invalidate(record.id);
    await rejectsWithCode(attempt(auth, `Bearer ${key}`), 'UNAUTHENTICATED');
  });

  it('sees a revocation on another node once its cache expires', async () => {
    let clock = 1_000;
    const { auth, key, registry, record } = await setup(() => clock);
    await auth.authenticate(`Bearer ${key}`);
    await registry.revokeKey('acme', record.id);
    await auth.authenticate(`Bearer ${key}`); // still cached
    clock += 5_001;
    await rejectsWithCode(attempt(auth, `Bearer ${key}`), 'UNAUTHENTICATED');
  });

  it('refuses a disabled tenant with TENANT_DISABLED', async () => {
    const { auth, key, registry } = await setup();
    await registry.updateTenant('acme', { disabled: true });
    await rejectsWithCode(attempt(auth, `Bearer ${key}`), 'TENANT_DISABLED');
  });

  it('loads the tenant quotas into the gate; requests over the window get QUOTA_EXCEEDED with a retry time', async () => {
    const { auth, key, quotas } = await setup();
    await auth.authenticate(`Bearer ${key}`);
    assert.deepEqual(quotas.quotasOf('acme'), { requestsPerPeriod: 2, periodSeconds: 60 });
    await quotas.consumeRequest('acme');
    await quotas.consumeRequest('acme');
    const error = await rejectsWithCode(quotas.consumeRequest('acme')!, 'QUOTA_EXCEEDED');
    assert.equal(error.details?.quota, 'requestsPerPeriod');
    assert.ok((error.details?.retryAfterSeconds as number) >= 59);
    assert.equal(quotas.consumeRequest('unlimited'), undefined);
  });

  it('keeps a valid key cached through 150,000 attempts with random key ids (15× the miss cache, past the key cache)', async () => {
    const clock = 1_000;
    const { auth, key, registry, record } = await setup(() => clock);
    const findKey = registry.findKey.bind(registry);
    let lookups = 0;
    registry.findKey = (id: string) => {
      if (id === record.id) lookups++;
      return findKey(id);
    };
    await auth.authenticate(`Bearer ${key}`);
    assert.equal(lookups, 1);
    const secret = 'A'.repeat(43);
    let refused = 0;
    for (let batch = 0; batch < 150; batch++) {
      const attempts: Array<Promise<unknown>> = [];
      for (let i = 0; i < 1_000; i++) {
        const id = (batch * 1_000 + i).toString(16).padStart(16, '0');
        attempts.push(attempt(auth, `Bearer af_${id}_${secret}`).catch(() => refused++));
      }
      await Promise.all(attempts);
    }
    assert.equal(refused, 150_000);
    const again = auth.authenticate(`Bearer ${key}`);
    assert.ok(!(again instanceof Promise), 'still cached: answered synchronously');
    assert.equal(lookups, 1, 'the registry was not asked again');
  });

  it('refuses an admin key shorter than 16 characters', () => {
    assert.throws(() => new Authenticator({ registry: new MemoryTenantRegistry(), adminKey: 'short' }));
  });
});
