// `agentfleet provenance verify`: the real command over a SQLite file, intact and then with a
// row altered behind the store's back.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SqliteProvenanceStore } from '../provenance/index.ts';
import { sampleDecision } from '../testing/index.ts';

const cli = fileURLToPath(new URL('../cli.ts', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'af-verify-'));
after(() => rm(dir, { recursive: true, force: true }));

function verify(...args: string[]) {
  const result = spawnSync(process.execPath, [cli, 'provenance', 'verify', ...args], {
    env: { ...process.env, AGENTFLEET_DATA_DIR: dir },
    cwd: dir,
    encoding: 'utf8',
  });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

describe('agentfleet provenance verify', () => {
  it('reports every intact chain, then the first broken link of a tampered one', async () => {
    const store = await SqliteProvenanceStore.open({ path: join(dir, 'provenance.db') });
    await store.append([
      sampleDecision(),
      sampleDecision(),
      sampleDecision(),
      sampleDecision({ tenant: 'other' }),
    ]);
    const intact = verify();
    assert.equal(intact.code, 0, intact.err);
    assert.match(intact.out, /tenant acme: 3 records, chain intact/);
    assert.match(intact.out, /tenant other: 1 records, chain intact/);
    store.database
      .prepare(
        "UPDATE provenance SET record = replace(record, '\"inputTokens\":120', '\"inputTokens\":12') WHERE tenant = 'acme' AND seq = 2",
      )
      .run();
    await store.close();
    const broken = verify('--tenant', 'acme');
    assert.equal(broken.code, 1);
    assert.match(broken.err, /tenant acme: chain broken at seq 2 .*altered/);
    assert.doesNotMatch(broken.out + broken.err, /other/);
    assert.equal(verify('--tenant', 'other').code, 0);
  });

  it('says so when provenance is off', () => {
    const result = spawnSync(process.execPath, [cli, 'provenance', 'verify'], {
      env: { ...process.env, AGENTFLEET_DATA_DIR: dir, AGENTFLEET_PROVENANCE: 'off' },
      cwd: dir,
      encoding: 'utf8',
    });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /provenance is off/);
  });
});
