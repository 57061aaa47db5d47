// The provenance store contract against the PostgreSQL server on loopback 5432 (database
// `test`), each store in its own schema, dropped afterwards; plus two nodes appending to one
// tenant's chain at once.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { PostgresProvenanceStore } from '../../src/postgres.ts';
import { provenanceQuerySchema } from '../../src/provenance/index.ts';
import { provenanceStoreContract, sampleDecision } from '../../src/testing/index.ts';
import { POSTGRES_URL, serverSkipReason } from './servers.ts';

const skip = await serverSkipReason('PostgreSQL', 5432);
const schemas: string[] = [];
const newSchema = () => {
  const s = `af_prov_${randomBytes(4).toString('hex')}`;
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

provenanceStoreContract('postgres', {
  skip,
  open: () => PostgresProvenanceStore.open({ connectionString: POSTGRES_URL, schema: newSchema() }),
  async tamper(store, tenant, seq, json) {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      await client.query(
        `UPDATE ${(store as PostgresProvenanceStore).table} SET record = $1::jsonb WHERE tenant = $2 AND seq = $3`,
        [json, tenant, seq],
      );
    } finally {
      await client.end();
    }
  },
});

describe('PostgresProvenanceStore shared by two nodes', { skip }, () => {
  it('two stores appending to one tenant at once keep one linear chain', async () => {
    const schema = newSchema();
    const a = await PostgresProvenanceStore.open({ connectionString: POSTGRES_URL, schema });
    const b = await PostgresProvenanceStore.open({ connectionString: POSTGRES_URL, schema });
    const batch = () => Array.from({ length: 20 }, () => sampleDecision());
    await Promise.all([a.append(batch()), b.append(batch()), a.append(batch()), b.append(batch())]);
    const { records } = await a.query('acme', provenanceQuerySchema.parse({ limit: 1000 }));
    assert.deepEqual(
      records.map((r) => r.seq),
      Array.from({ length: 80 }, (_, i) => i + 1),
    );
    assert.deepEqual(await b.verify('acme'), { tenant: 'acme', records: 80, ok: true });
    await a.close();
    await b.close();
  });
});
