import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { rejectsWithCode } from '../../../test/helpers.ts';
import { tenantRegistryContract } from '../../testing/index.ts';
import { issueApiKey } from '../issue-api-key.ts';
import { MemoryTenantRegistry } from './memory.ts';

const dir = mkdtempSync(join(tmpdir(), 'af-tenants-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

tenantRegistryContract('memory', { open: async () => new MemoryTenantRegistry() });
tenantRegistryContract('file', { open: () => MemoryTenantRegistry.open(join(dir, `r${++n}.json`)) });

describe('file tenant registry', () => {
  it('survives a reopen: tenants, quotas and key hashes come back', async () => {
    const file = join(dir, 'reopen.json');
    const first = await MemoryTenantRegistry.open(file);
    await first.createTenant({ id: 'acme', quotas: { maxAgents: 2 } });
    const { key, record } = await issueApiKey(first, 'acme');
    await first.close();
    assert.ok(!readFileSync(file, 'utf8').includes(key), 'no plaintext key on disk');
    const second = await MemoryTenantRegistry.open(file);
    assert.deepEqual((await second.getTenant('acme'))?.quotas, { maxAgents: 2 });
    assert.equal((await second.findKey(record.id))?.hash, record.hash);
    await second.close();
  });

  it('refuses a malformed file with TENANT_REGISTRY_FAILED', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, '{"version":1,"tenants":[{"id":1}],"keys":[]}');
    await rejectsWithCode(MemoryTenantRegistry.open(file), 'TENANT_REGISTRY_FAILED');
    writeFileSync(file, 'not json');
    await rejectsWithCode(MemoryTenantRegistry.open(file), 'TENANT_REGISTRY_FAILED');
  });
});
