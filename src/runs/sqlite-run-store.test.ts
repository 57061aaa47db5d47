import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after } from 'node:test';
import { runStoreContract } from '../testing/index.ts';
import { SqliteRunStore } from './sqlite-run-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'agentfleet-runs-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const paths = new WeakMap<object, string>();
let n = 0;

runStoreContract('sqlite', {
  open: async () => {
    const path = join(dir, `runs-${n++}.db`);
    const store = await SqliteRunStore.open({ path });
    paths.set(store, path);
    return store;
  },
  corrupt: async (store, kind, tenant, key, json) => {
    const db = new DatabaseSync(paths.get(store) as string);
    const [table, column, id] =
      kind === 'run'
        ? ['runs', 'record', 'id']
        : kind === 'approval'
          ? ['approvals', 'record', 'id']
          : ['conversations', 'conversation', 'agent_id'];
    db.prepare(`UPDATE ${table} SET ${column} = ? WHERE tenant = ? AND ${id} = ?`).run(
      json,
      tenant ?? '',
      key,
    );
    db.close();
  },
});
