// Two nodes made by createNode that share a bus (one in-memory hub), an agent directory and
// leases: every front door of either node (HTTP agents, state and OpenAI routes, the bus front
// door) reaches an agent wherever it is active, with the same answers and errors as a local
// call; a durable agent's message is a run on its owner; deleting a tenant on one node
// empties the other too.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { scriptedProvider } from '../../test/scripted-provider.ts';
import { createBus, MemoryHub, MemoryTransport } from '../bus/index.ts';
import { MemoryAgentDirectory, MemoryLeaseStore } from '../cluster/index.ts';
import { currentTenantId, withTenant } from '../context/index.ts';
import { defineAgent } from '../core/index.ts';
import { inboxTopic } from '../front-door/index.ts';
import { llm } from '../llm-agent/index.ts';
import { type RunningServer, startServer } from '../server/index.ts';
import { type AgentfleetNode, createNode } from './index.ts';

const definitions = (node: string) => [
  defineAgent({
    name: 'echo',
    decide: (input: unknown, ctx) => {
      ctx.emit({ type: 'progress', name: 'seen', data: { node } });
      return { node, input, tenant: currentTenantId() ?? null };
    },
  }),
  defineAgent({
    name: 'desk',
    durable: true,
    decide: llm({
      // Says how many user turns the model saw: the conversation kept in the run store.
      provider: scriptedProvider((request) => ({
        text: `answered on ${node} (${request.messages.filter((m) => m.role === 'user').length} turns)`,
      })),
      model: 'm',
    }),
  }),
];

describe('two nodes in one cluster', () => {
  const hub = new MemoryHub();
  const directory = new MemoryAgentDirectory();
  const leases = new MemoryLeaseStore({ leaseMs: 2_000 });
  const buses = [
    createBus({ transport: new MemoryTransport(hub) }),
    createBus({ transport: new MemoryTransport(hub) }),
  ];
  let dataDir: string;
  let nodes: AgentfleetNode[];
  let servers: RunningServer[];

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'agentfleet-cluster-nodes-'));
    nodes = [];
    for (const [i, name] of ['a', 'b'].entries()) {
      nodes.push(
        await createNode(
          {
            logLevel: 'silent',
            auth: 'none',
            runs: 'sqlite',
            dataDir,
            nodeId: `node-${name}`,
            port: 0,
            host: '127.0.0.1',
            busFrontDoor: true,
          },
          { bus: buses[i], cluster: { directory, leases }, definitions: definitions(name) },
        ),
      );
    }
    servers = await Promise.all(nodes.map((node) => startServer(node)));
    for (const node of nodes) await node.cluster!.tick(); // each sees the other (the timer would, soon)
    assert.deepEqual(
      nodes.map((node) => node.cluster!.members.length),
      [2, 2],
    );
  });

  after(async () => {
    for (const server of servers) await server.shutdown();
    for (const node of nodes) await node.close();
    for (const bus of buses) await bus.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const http = async (node: number, method: string, path: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${servers[node]!.port}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    // biome-ignore lint/suspicious/noExplicitAny: JSON bodies of many shapes
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  let made = 0;
  /** Creates agents of `definition` through node a until one is active on node `on`; returns its id. */
  const agentOn = async (definition: string, on: string): Promise<string> => {
    for (let i = 0; i < 64; i++) {
      const id = `${definition}-${on}-${made++}`;
      const reply = await http(0, 'POST', '/v1/agents', { definition, id });
      assert.equal(reply.status, 201, JSON.stringify(reply.body));
      const listed = await http(1, 'GET', `/v1/agents?limit=1000`);
      const node = (listed.body.agents as Array<{ id: string; node: string }>).find((a) => a.id === id)?.node;
      if (node === `node-${on}`) return id;
    }
    throw new Error(`no agent placed on node-${on}`);
  };

  it('HTTP on either node reaches an agent active on the other, with its errors', async () => {
    const id = await agentOn('echo', 'b');
    assert.equal(nodes[0]!.cluster?.isActiveHere(id), false);
    for (const node of [0, 1]) {
      const reply = await http(node, 'POST', `/v1/agents/${id}/messages`, { input: { n: node } });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.deepEqual(reply.body, { output: { node: 'b', input: { n: node }, tenant: null } });
    }
    const info = await http(0, 'GET', `/v1/agents/${id}`);
    assert.equal(info.body.handled, 2, 'one copy handled both');
    const view = await http(1, 'GET', '/v1/cluster');
    assert.deepEqual(view.body.members, ['node-a', 'node-b']);
    assert.equal(view.body.node, 'node-b');
    assert.ok(view.body.active >= 1);
    const missing = await http(0, 'POST', '/v1/agents/nobody/messages', { input: 1 });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'AGENT_NOT_FOUND');
    const twice = await http(1, 'POST', '/v1/agents', { definition: 'echo', id });
    assert.equal(twice.status, 409, 'an id is taken cluster-wide');
    const unknown = await http(0, 'POST', '/v1/agents', { definition: 'nothing-like-it' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'DEFINITION_NOT_FOUND');
  });

  it('streams a message to a remote agent as server-sent events, and stops and starts it', async () => {
    const id = await agentOn('echo', 'b');
    const res = await fetch(`http://127.0.0.1:${servers[0]!.port}/v1/agents/${id}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ input: 'streamed' }),
    });
    const text = await res.text();
    assert.match(text, /event: seen\ndata: \{"type":"progress","name":"seen","data":\{"node":"b"\}\}/);
    assert.match(text, /event: result\ndata: \{"output":\{"node":"b","input":"streamed","tenant":null\}\}/);
    const stopped = await http(0, 'POST', `/v1/agents/${id}/stop`, {});
    assert.equal(stopped.body.agent.state, 'stopped');
    const refused = await http(1, 'POST', `/v1/agents/${id}/messages`, { input: 1 });
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    const final = await http(1, 'POST', `/v1/agents/${id}/start`);
    assert.equal(final.body.error.code, 'ILLEGAL_TRANSITION', 'stopped is final, as on one node');
    const later = await http(1, 'POST', '/v1/agents', {
      definition: 'echo',
      id: `${id}-later`,
      start: false,
    });
    assert.equal(later.body.state, 'pending', JSON.stringify(later.body));
    const started = await http(0, 'POST', `/v1/agents/${id}-later/start`);
    assert.equal(started.body.state, 'running', JSON.stringify(started.body));
  });

  it('state written through one node reads back through the other', async () => {
    const id = await agentOn('echo', 'b');
    const patched = await http(0, 'PATCH', `/v1/agents/${id}/state`, { values: { step: 3 }, tags: ['vip'] });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    for (const node of [0, 1]) {
      const read = await http(node, 'GET', `/v1/agents/${id}/state`);
      assert.deepEqual([read.body.values, read.body.tags], [{ step: 3 }, ['vip']]);
    }
    assert.equal((await http(0, 'DELETE', `/v1/agents/${id}/state`)).body.deleted, true);
    assert.equal((await http(1, 'GET', `/v1/agents/${id}/state`)).body.error.code, 'STATE_NOT_FOUND');
  });

  it('a durable agent on the other node answers as a run there (JSON, SSE and the OpenAI endpoint)', async () => {
    const id = await agentOn('desk', 'b');
    const reply = await http(0, 'POST', `/v1/agents/${id}/messages`, { input: 'hello' });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal(typeof reply.body.runId, 'string');
    assert.match(JSON.stringify(reply.body.output), /answered on b/);
    const run = await http(0, 'GET', `/v1/runs/${reply.body.runId}`);
    assert.equal(run.body.owner, 'node-b');
    assert.equal(run.body.status, 'completed');
    const bad = await http(0, 'POST', `/v1/agents/${id}/messages`, { input: { not: 'text' } });
    assert.equal(bad.status, 400, 'a durable agent’s bad input is refused before anything runs');
    const sse = await fetch(`http://127.0.0.1:${servers[0]!.port}/v1/agents/${id}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ input: 'again' }),
    });
    const events = await sse.text();
    assert.match(events, /event: run-start\n/);
    assert.match(events, /event: result\ndata: \{"runId":"[^"]+","output":/);
    const chat = await http(0, 'POST', '/v1/chat/completions', {
      model: id,
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.equal(chat.status, 200, JSON.stringify(chat.body));
    assert.match(chat.body.choices[0].message.content, /^answered on b/);
    assert.equal(chat.body.agentfleet.status, 'completed');
  });

  it('the bus front door of either node delivers to the agent wherever it is active, in its tenant', async () => {
    const id = await withTenant('acme', async () => {
      for (let i = 0; i < 64; i++) {
        const info = await nodes[0]!.agents.create({ definition: 'echo', id: `bus-${i}` });
        const [summary] = await nodes[0]!.agents.list({ after: `bus-${i - 1}`, limit: 1 });
        if (summary?.node === 'node-b') return info.id;
      }
      throw new Error('no agent placed on node-b');
    });
    for (let i = 0; i < 4; i++) {
      const reply = await buses[i % 2]!.request(inboxTopic('acme', id), { input: i });
      assert.deepEqual(reply.payload, { output: { node: 'b', input: i, tenant: 'acme' } });
    }
  });

  it('deleting a tenant on one node removes its agents from every node and the directory', async () => {
    await nodes[0]!.tenancy.registry.createTenant({ id: 'gone' });
    const ids = await withTenant('gone', async () => {
      const made: string[] = [];
      for (let i = 0; i < 8; i++) made.push((await nodes[1]!.agents.create({ definition: 'echo' })).id);
      return made;
    });
    const active = () =>
      withTenant('gone', () => nodes.map((node) => node.runtime.list({ limit: 1000 }).length));
    assert.equal(
      active().reduce((a, b) => a + b),
      8,
    );
    await nodes[0]!.deleteTenant('gone');
    for (let i = 0; i < 100 && active().some((n) => n > 0); i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(active(), [0, 0], 'no node keeps one in memory');
    await withTenant('gone', async () => {
      assert.deepEqual(await nodes[1]!.agents.list(), []);
      for (const id of ids) assert.equal(await nodes[1]!.agents.exists(id), false);
    });
  });

  it('a leaving node hands its agents over: their state, stopped or not, wakes on the other', async () => {
    const id = await agentOn('echo', 'b');
    await http(1, 'PATCH', `/v1/agents/${id}/state`, { values: { kept: true } });
    const stopped = await agentOn('echo', 'b');
    await http(1, 'POST', `/v1/agents/${stopped}/stop`, {});
    const desk = await agentOn('desk', 'b');
    const first = await http(0, 'POST', `/v1/agents/${desk}/messages`, { input: 'one' });
    assert.match(JSON.stringify(first.body.output), /answered on b \(1 turns\)/);
    await servers[1]!.shutdown();
    await nodes[1]!.close(); // drains, writes each agent's state into its record, leaves
    const read = await http(0, 'GET', `/v1/agents/${id}/state`);
    assert.deepEqual(read.body.values, { kept: true });
    assert.equal(nodes[0]!.cluster?.isActiveHere(id), true, 'woken on the node that is left');
    const reply = await http(0, 'POST', `/v1/agents/${id}/messages`, { input: 'after' });
    assert.equal(reply.body.output.node, 'a');
    assert.equal((await http(0, 'GET', `/v1/agents/${stopped}`)).body.state, 'stopped');
    const second = await http(0, 'POST', `/v1/agents/${desk}/messages`, { input: 'two' });
    assert.match(
      JSON.stringify(second.body.output),
      /answered on a \(2 turns\)/,
      'the conversation moved with the agent',
    );
  });
});
