// Tenants' own definitions in a cluster of two nodes made by createNode on one bus, directory,
// leases and definitions store: a definition PUT on one node is listed, read and used on the
// other (agents of it made and messaged on either); a DELETE on one makes it unavailable on
// the other; deleting the tenant removes it everywhere; another tenant never sees it; a bad
// value in the store is skipped with a warning; a node that joins later registers what is stored.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { TEST_ADMIN_KEY } from '../../test/server-auth.ts';
import { createBus, MemoryHub, MemoryTransport } from '../bus/index.ts';
import { MemoryAgentDirectory, MemoryLeaseStore } from '../cluster/index.ts';
import { withTenant } from '../context/index.ts';
import { type RunningServer, startServer } from '../server/index.ts';
import { definitionKey, MemoryDefinitionStore } from '../spec/index.ts';
import { type AgentfleetNode, createNode } from './index.ts';

const routing = (name: string) => ({
  name,
  description: 'Routes by priority.',
  cognition: {
    type: 'rules',
    rules: [
      {
        name: 'urgent',
        when: { path: 'priority', op: 'eq', value: 'urgent' },
        decision: 'page',
        reason: 'urgent pages',
      },
    ],
    otherwise: { decision: 'queue', reason: 'the rest queue' },
  },
});

describe('tenants’ definitions shared by a cluster', () => {
  const hub = new MemoryHub();
  const directory = new MemoryAgentDirectory();
  const leases = new MemoryLeaseStore({ leaseMs: 2_000 });
  const store = new MemoryDefinitionStore();
  const buses = [0, 1, 2].map(() => createBus({ transport: new MemoryTransport(hub) }));
  const warnings: Array<{ msg: string; tenant?: string; name?: string }> = [];
  const logger = pino(
    { level: 'warn' },
    { write: (line: string) => void warnings.push(JSON.parse(line) as (typeof warnings)[number]) },
  );
  const nodes: AgentfleetNode[] = [];
  const servers: RunningServer[] = [];

  const join = async (i: number) => {
    const node = await createNode(
      {
        logLevel: 'silent',
        auth: 'keys',
        adminKey: TEST_ADMIN_KEY,
        nodeId: `node-${i}`,
        port: 0,
        host: '127.0.0.1',
      },
      { bus: buses[i], cluster: { directory, leases, definitions: store }, logger },
    );
    nodes.push(node);
    servers.push(await startServer(node));
    for (const n of nodes) await n.cluster!.tick();
    return node;
  };

  before(async () => {
    await join(0);
    await join(1);
    assert.deepEqual(
      nodes.map((node) => node.cluster!.members.length),
      [2, 2],
    );
  });

  after(async () => {
    for (const server of servers) await server.shutdown();
    for (const node of nodes) await node.close();
    for (const bus of buses) await bus.close();
    await store.close();
  });

  /** A call on node `node` as tenant `tenant` (the admin key acting as it). */
  const http = async (node: number, tenant: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${servers[node]!.port}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${TEST_ADMIN_KEY}`,
        'x-agentfleet-tenant': tenant,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    // biome-ignore lint/suspicious/noExplicitAny: JSON bodies of many shapes
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  let made = 0;
  /** Creates agents of `definition` through node `through` until one is active on node `on`. */
  const agentOn = async (tenant: string, definition: string, through: number, on: number) => {
    for (let i = 0; i < 64; i++) {
      const id = `${definition}-${on}-${made++}`;
      const reply = await http(through, tenant, 'POST', '/v1/agents', { definition, id });
      assert.equal(reply.status, 201, JSON.stringify(reply.body));
      if (withTenant(tenant, () => nodes[on]!.cluster!.isActiveHere(id))) return id;
    }
    throw new Error(`no agent placed on node-${on}`);
  };

  it('a definition PUT on one node is listed, read and used through the other', async () => {
    const put = await http(0, 'acme', 'PUT', '/v1/definitions/router', routing('router'));
    assert.equal(put.status, 201, JSON.stringify(put.body));
    const listed = await http(1, 'acme', 'GET', '/v1/definitions');
    assert.deepEqual(
      listed.body.definitions
        .filter((d: { scope: string }) => d.scope === 'tenant')
        .map((d: { name: string }) => d.name),
      ['router'],
    );
    assert.equal(
      (await http(1, 'acme', 'GET', '/v1/definitions/router')).body.description,
      'Routes by priority.',
    );
    // Made through B: on B from the stored text, and on A (B prepares it from the store too).
    for (const on of [1, 0]) {
      const id = await agentOn('acme', 'router', 1, on);
      for (const via of [0, 1]) {
        const reply = await http(via, 'acme', 'POST', `/v1/agents/${id}/messages`, {
          input: { priority: 'urgent' },
        });
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        assert.match(JSON.stringify(reply.body.output), /page/);
      }
    }
    const replaced = await http(1, 'acme', 'PUT', '/v1/definitions/router', {
      ...routing('router'),
      description: 'Replaced on B.',
    });
    assert.equal(replaced.status, 200, 'replacing a definition put on another node');
    assert.equal((await http(0, 'acme', 'GET', '/v1/definitions/router')).body.description, 'Replaced on B.');
  });

  it('a node that has not yet seen a definition catches up before it refuses it', async () => {
    // Written to the store directly, then used at once: neither node has applied it yet.
    await store.put('acme', 'direct', JSON.stringify(routing('direct')), 'json');
    const made = await withTenant('acme', () => nodes[1]!.agents.create({ definition: 'direct' }));
    assert.equal(made.definition, 'direct');
    await store.put('acme', 'record', JSON.stringify(routing('record')), 'json');
    await directory.create({
      v: 1,
      tenant: 'acme',
      id: 'from-record',
      definition: 'record',
      createdAt: Date.now(),
    });
    for (const node of nodes) {
      const reply = await withTenant('acme', () => node.agents.send('from-record', { priority: 'urgent' }));
      assert.match(JSON.stringify(reply.output), /page/);
    }
  });

  it('another tenant neither sees nor uses it, on any node', async () => {
    await http(0, 'acme', 'PUT', '/v1/definitions/private', routing('private'));
    for (const node of [0, 1]) {
      assert.equal((await http(node, 'globex', 'GET', '/v1/definitions/private')).status, 404);
      const listed = await http(node, 'globex', 'GET', '/v1/definitions');
      assert.ok(!listed.body.definitions.some((d: { name: string }) => d.name === 'private'));
      const made = await http(node, 'globex', 'POST', '/v1/agents', { definition: 'private' });
      assert.equal(made.status, 404, JSON.stringify(made.body));
      assert.equal(made.body.error.code, 'DEFINITION_NOT_FOUND');
    }
  });

  it('a DELETE on one node makes it unavailable on the other, even to its agents', async () => {
    await http(0, 'acme', 'PUT', '/v1/definitions/brief', routing('brief'));
    const id = await agentOn('acme', 'brief', 1, 0);
    const deleted = await http(1, 'acme', 'DELETE', '/v1/definitions/brief');
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    await nodes[0]!.definitions.sync();
    assert.equal(
      withTenant('acme', () => nodes[0]!.runtime.hasDefinition('brief')),
      false,
    );
    assert.equal((await http(0, 'acme', 'GET', '/v1/definitions/brief')).status, 404);
    const made = await http(0, 'acme', 'POST', '/v1/agents', { definition: 'brief' });
    assert.equal(made.body.error.code, 'DEFINITION_NOT_FOUND');
    assert.equal((await http(1, 'acme', 'DELETE', '/v1/definitions/brief')).status, 404);
    // Its agent keeps running where it is (as on one node, deleting a definition stops none).
    assert.equal((await http(1, 'acme', 'POST', `/v1/agents/${id}/messages`, { input: {} })).status, 200);
  });

  it('deleting the tenant removes its definitions from the store and every node', async () => {
    await nodes[0]!.tenancy.registry.createTenant({ id: 'gone' });
    for (const name of ['one', 'two']) await http(1, 'gone', 'PUT', `/v1/definitions/${name}`, routing(name));
    await nodes[0]!.definitions.sync();
    assert.equal(nodes[0]!.definitions.list('gone').length, 2);
    const result = await nodes[0]!.deleteTenant('gone');
    assert.deepEqual(result.purged.definitions, { definitions: 2 }, JSON.stringify(result));
    for (const node of nodes) {
      await node.definitions.sync();
      assert.deepEqual(node.definitions.list('gone'), []);
      assert.equal(
        withTenant('gone', () => node.runtime.hasDefinition('one')),
        false,
      );
    }
    assert.equal(await store.get('gone', 'one'), undefined);
  });

  it('a bad value in the store is skipped with a warning, never registered; a joining node loads the rest', async () => {
    const tenantSpec = { ...routing('reader'), cognition: { type: 'builtin', name: 'act' } };
    store.putRaw(
      definitionKey('acme', 'reader'),
      JSON.stringify({
        v: 1,
        tenant: 'acme',
        name: 'reader',
        format: 'json',
        text: JSON.stringify(tenantSpec),
      }),
    );
    store.putRaw(definitionKey('acme', 'broken'), '{"v":1');
    for (const node of nodes) await node.definitions.sync();
    for (const node of nodes) {
      assert.equal(node.definitions.get('acme', 'reader'), undefined);
      assert.equal(
        withTenant('acme', () => node.runtime.hasDefinition('reader')),
        false,
      );
    }
    const refused = warnings.filter((w) => w.msg === 'a stored tenant definition was refused and skipped');
    assert.ok(refused.filter((w) => w.name === 'reader').length >= 2, 'each node warned of the bad spec');
    assert.ok(refused.length >= 4, 'and of the damaged value');
    const late = await join(2);
    assert.deepEqual(
      late.definitions.list('acme').map((d) => d.name),
      ['direct', 'private', 'record', 'router'],
      'a node that joins registers what the store holds',
    );
    assert.equal(late.definitions.get('acme', 'router')?.description, 'Replaced on B.');
  });
});
