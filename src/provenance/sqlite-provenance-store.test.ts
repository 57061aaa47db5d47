import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { provenanceStoreContract, sampleDecision } from '../testing/index.ts';
import { provenanceQuerySchema, SqliteProvenanceStore } from './index.ts';

provenanceStoreContract('sqlite', {
  open: () => SqliteProvenanceStore.open({ path: ':memory:' }),
  async tamper(store, tenant, seq, json) {
    (store as SqliteProvenanceStore).database
      .prepare('UPDATE provenance SET record = ? WHERE tenant = ? AND seq = ?')
      .run(json, tenant, seq);
  },
});

describe('SqliteProvenanceStore in a file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'provenance-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the chain across a reopen, and verify sees a row tampered with outside the store', async () => {
    const path = join(dir, 'nested', 'provenance.db');
    const first = await SqliteProvenanceStore.open({ path });
    await first.append([sampleDecision(), sampleDecision()]);
    await first.close();
    const second = await SqliteProvenanceStore.open({ path });
    await second.append([sampleDecision()]);
    const { records } = await second.query('acme', provenanceQuerySchema.parse({}));
    assert.deepEqual(
      records.map((r) => r.seq),
      [1, 2, 3],
    );
    assert.equal(records[2]?.prevHash, records[1]?.hash);
    assert.equal((await second.verify('acme')).ok, true);
    // Someone edits the file directly: the chain no longer holds at that record.
    second.database
      .prepare(
        'UPDATE provenance SET record = replace(record, \'"outputTokens":30\', \'"outputTokens":3\') WHERE seq = 2',
      )
      .run();
    const report = await second.verify('acme');
    assert.equal(report.ok, false);
    assert.equal(report.broken?.seq, 2);
    await second.close();
  });
});
