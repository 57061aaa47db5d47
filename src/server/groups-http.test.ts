// Agent groups over real HTTP: a tenant opens a group of replicas of its definition, messages
// it, scales it up and down while messages flow (none fails), and deletes it; another tenant
// sees none of it; bad bodies are typed errors; the tenant's deletion closes its groups.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { jsonCaller } from '../../test/json-call.ts';
import { TEST_ADMIN_KEY } from '../../test/server-auth.ts';
import { loadServerConfig } from '../config/index.ts';
import { type RunningServer, startServer } from './start-server.ts';

const ADMIN = `Bearer ${TEST_ADMIN_KEY}`;
let app: RunningServer;
let base: string;
let alice: string;
let bob: string;

const call = jsonCaller(() => base);

before(async () => {
  app = await startServer(
    loadServerConfig({}, { port: 0, host: '127.0.0.1', logLevel: 'silent', adminKey: TEST_ADMIN_KEY }),
    pino({ level: 'silent' }),
  );
  base = `http://127.0.0.1:${app.port}`;
  const tenant = async (id: string) =>
    `Bearer ${(await call('POST', '/v1/tenants', ADMIN, { id })).body.key}`;
  alice = await tenant('alice');
  bob = await tenant('bob');
});
after(async () => {
  await app.shutdown();
});

describe('agent groups over HTTP', () => {
  it('opens, messages, scales under load without a failed message, and deletes a group', async () => {
    const spec = {
      name: 'echo',
      cognition: { type: 'rules', rules: [], otherwise: { decision: 'ok', reason: 'r' } },
    };
    assert.equal((await call('PUT', '/v1/definitions/echo', alice, spec)).status, 201);
    const opened = await call('POST', '/v1/groups', alice, { id: 'team', definition: 'echo', replicas: 2 });
    assert.equal(opened.status, 201, JSON.stringify(opened.body));
    assert.equal(opened.body.size, 2);
    assert.deepEqual(
      opened.body.replicas.map((r: { id: string }) => r.id),
      ['team.r0', 'team.r1'],
    );
    let sending = true;
    const statuses: number[] = [];
    const sender = (async () => {
      while (sending) {
        const replies = await Promise.all(
          Array.from({ length: 8 }, () => call('POST', '/v1/groups/team/messages', alice, { input: {} })),
        );
        for (const r of replies) statuses.push(r.status);
      }
    })();
    for (const replicas of [4, 1, 3]) {
      const scaled = await call('PATCH', '/v1/groups/team', alice, { replicas });
      assert.equal(scaled.status, 200, JSON.stringify(scaled.body));
      assert.equal(scaled.body.size, replicas);
    }
    sending = false;
    await sender;
    assert.ok(statuses.length > 0);
    assert.deepEqual([...new Set(statuses)], [200], 'every message answered while the group scaled');
    assert.deepEqual((await call('GET', '/v1/groups', alice)).body.groups, [
      { id: 'team', tenant: 'alice', size: 3 },
    ]);
    assert.equal((await call('GET', '/v1/groups/team', bob)).status, 404, 'bob sees none of it');
    assert.deepEqual((await call('GET', '/v1/groups', bob)).body.groups, []);
    assert.equal((await call('DELETE', '/v1/groups/team', alice)).status, 200);
    assert.equal(
      (await call('POST', '/v1/groups/team/messages', alice, { input: {} })).body.error.code,
      'GROUP_NOT_FOUND',
    );
  });

  it('bad bodies are typed errors; a tenant’s deletion closes its groups', async () => {
    const bad = await call('POST', '/v1/groups', alice, { id: 'x', definition: 'echo', replicas: 0 });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'INVALID_REQUEST');
    assert.equal((await call('POST', '/v1/groups', alice, { id: 'x', definition: 'nope' })).status, 404);
    await call('POST', '/v1/groups', alice, { id: 'keep', definition: 'echo' });
    const twice = await call('POST', '/v1/groups', alice, { id: 'keep', definition: 'echo' });
    assert.equal(twice.body.error.code, 'GROUP_EXISTS');
    const badScale = await call('PATCH', '/v1/groups/keep', alice, { replicas: 'many' });
    assert.equal(badScale.body.error.code, 'INVALID_REQUEST');
    const deleted = await call('DELETE', '/v1/tenants/alice', ADMIN);
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    assert.deepEqual(deleted.body.purged.groups, { groups: 1 });
  });
});
