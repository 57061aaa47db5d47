// The behaviour every tenant registry must show. Run by tenancy/registries/memory.test.ts and
// by the PostgreSQL integration test.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { apiKeyMatches, issueApiKey, type TenantRegistry } from '../tenancy/index.ts';
import { rejectsWithCode } from './assertions.ts';

export interface RegistryContractOptions {
  /** A new, empty registry. */
  open: () => Promise<TenantRegistry>;
  skip?: string | undefined;
}

/**
 * Registers, with `node:test`, the suite every `TenantRegistry` must pass: tenants created,
 * listed in id order, updated and deleted; duplicates, unknown tenants and bad input refused
 * with typed errors; API keys issued, found by id, revoked and deleted with their tenant.
 * @param name shown in the suite's title.
 */
export function tenantRegistryContract(name: string, options: RegistryContractOptions): void {
  describe(`tenant registry contract: ${name}`, { skip: options.skip }, () => {
    const opened: TenantRegistry[] = [];
    const open = async () => {
      const r = await options.open();
      opened.push(r);
      return r;
    };
    after(async () => {
      await Promise.all(opened.map((r) => r.close()));
    });

    it('creates, reads, lists in id order, updates and deletes tenants', async () => {
      const r = await open();
      const created = await r.createTenant({ id: 'beta', quotas: { maxAgents: 3 } });
      assert.equal(created.name, 'beta');
      assert.deepEqual(created.quotas, { maxAgents: 3 });
      assert.equal(created.disabled, false);
      await r.createTenant({ id: 'alpha', name: 'Alpha Co' });
      assert.deepEqual(
        (await r.listTenants()).map((t) => t.id),
        ['alpha', 'beta'],
      );
      assert.deepEqual(
        (await r.listTenants({ limit: 1, offset: 1 })).map((t) => t.id),
        ['beta'],
      );
      const updated = await r.updateTenant('beta', {
        quotas: { requestsPerPeriod: 5, periodSeconds: 2 },
        disabled: true,
      });
      assert.deepEqual(updated.quotas, { requestsPerPeriod: 5, periodSeconds: 2 });
      assert.equal(updated.disabled, true);
      assert.equal(updated.name, 'beta');
      assert.equal((await r.getTenant('beta'))?.disabled, true);
      assert.equal(await r.deleteTenant('beta'), true);
      assert.equal(await r.deleteTenant('beta'), false);
      assert.equal(await r.getTenant('beta'), undefined);
    });

    it('refuses duplicates, unknown tenants and bad input with typed errors', async () => {
      const r = await open();
      await r.createTenant({ id: 't1' });
      await rejectsWithCode(r.createTenant({ id: 't1' }), 'TENANT_EXISTS');
      await rejectsWithCode(r.updateTenant('nope', { name: 'x' }), 'TENANT_NOT_FOUND');
      await rejectsWithCode(r.createTenant({ id: 'has space' }), 'INVALID_OPTIONS');
      await rejectsWithCode(r.createTenant({ id: 'ok', quotas: { maxAgents: -1 } }), 'INVALID_OPTIONS');
      await rejectsWithCode(r.createTenant({ id: 'ok2', quotas: { bogus: 1 } as never }), 'INVALID_OPTIONS');
      await rejectsWithCode(issueApiKey(r, 'nope'), 'TENANT_NOT_FOUND');
    });

    it('stores only the hash of a key, finds it by id, lists and revokes it', async () => {
      const r = await open();
      await r.createTenant({ id: 'acme' });
      const { key, record } = await issueApiKey(r, 'acme', 'ci');
      const found = await r.findKey(record.id);
      assert.ok(found);
      assert.equal(found.tenantId, 'acme');
      assert.equal(found.name, 'ci');
      assert.ok(!JSON.stringify(found).includes(key.slice(20)), 'the secret is not stored');
      assert.ok(apiKeyMatches(key, found.hash));
      assert.equal(found.revokedAt, null);
      assert.deepEqual(
        (await r.listKeys('acme')).map((k) => k.id),
        [record.id],
      );
      assert.equal(await r.revokeKey('other', record.id), false, 'another tenant cannot revoke it');
      assert.equal(await r.revokeKey('acme', record.id), true);
      assert.equal(typeof (await r.findKey(record.id))?.revokedAt, 'number');
      assert.equal(await r.findKey('0000000000000000'), undefined);
    });

    it('deleting a tenant deletes its keys', async () => {
      const r = await open();
      await r.createTenant({ id: 'gone' });
      const { record } = await issueApiKey(r, 'gone');
      await r.deleteTenant('gone');
      assert.equal(await r.findKey(record.id), undefined);
    });
  });
}
