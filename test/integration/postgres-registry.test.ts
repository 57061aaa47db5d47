// The tenant registry contract against the PostgreSQL server on loopback 5432 (database
// `test`), each run in its own schema, dropped afterwards; plus the migration's idempotence.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { PostgresTenantRegistry } from '../../src/postgres.ts';
import { tenantRegistryContract } from '../../src/testing/index.ts';
import { rejectsWithCode } from '../helpers.ts';
import { POSTGRES_URL, serverSkipReason } from './servers.ts';

const skip = await serverSkipReason('PostgreSQL', 5432);
const schemas: string[] = [];
const newSchema = () => {
  const s = `af_test_${randomBytes(4).toString('hex')}`;
  schemas.push(s);
  return s;
};

after(async () => {
  if (skip !== undefined) return;
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await client.end();
});

tenantRegistryContract('postgres', {
  skip,
  open: () => PostgresTenantRegistry.open({ connectionString: POSTGRES_URL, schema: newSchema() }),
});

describe('postgres tenant registry', { skip }, () => {
  it('runs its migration once, even when several nodes open it at the same time', async () => {
    const schema = newSchema();
    const registries = await Promise.all(
      Array.from({ length: 4 }, () =>
        PostgresTenantRegistry.open({ connectionString: POSTGRES_URL, schema }),
      ),
    );
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    const { rows } = await client.query(`SELECT version FROM ${schema}.agentfleet_migrations`);
    await client.end();
    assert.deepEqual(
      rows.map((r) => r.version),
      [1],
    );
    await registries[0]!.createTenant({ id: 'shared' });
    assert.equal(
      (await registries[3]!.getTenant('shared'))?.id,
      'shared',
      'every node sees the same tenants',
    );
    await Promise.all(registries.map((r) => r.close()));
  });

  it('reports an unreachable server as TENANT_REGISTRY_FAILED', async () => {
    await rejectsWithCode(
      PostgresTenantRegistry.open({ connectionString: 'postgres://postgres@127.0.0.1:1/test' }),
      'TENANT_REGISTRY_FAILED',
    );
  });

  it('refuses a schema name that is not a plain identifier', async () => {
    await rejectsWithCode(PostgresTenantRegistry.open({ schema: 'x; DROP TABLE y' }), 'INVALID_OPTIONS');
  });
});
