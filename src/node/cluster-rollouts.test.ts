// A rollout in a cluster of two nodes made by createNode on one bus, leases, definitions and
// rollouts store: started on one node, its split is applied on both, both nodes' results count,
// one node decides, and the promotion makes the new version current on both.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createBus, MemoryHub, MemoryTransport } from '../bus/index.ts';
import { MemoryAgentDirectory, MemoryLeaseStore } from '../cluster/index.ts';
import { withTenant } from '../context/index.ts';
import { MemoryRolloutStore } from '../rollout/index.ts';
import { MemoryDefinitionStore } from '../spec/index.ts';
import { type AgentfleetNode, createNode } from './index.ts';

const rules = (answer: string, version: string) =>
  JSON.stringify({
    name: 'bot',
    version,
    cognition: { type: 'rules', rules: [], otherwise: { decision: answer, reason: 'always' } },
  });

test('a rollout started on one node moves the whole cluster, and is promoted on every node', async (t) => {
  const hub = new MemoryHub();
  const parts = {
    directory: new MemoryAgentDirectory(),
    leases: new MemoryLeaseStore({ leaseMs: 2_000 }),
    definitions: new MemoryDefinitionStore(),
    rollouts: new MemoryRolloutStore(),
  };
  const nodes: AgentfleetNode[] = [];
  t.after(async () => {
    for (const node of nodes) await node.close();
    await parts.rollouts.close();
    await parts.definitions.close();
  });
  for (let i = 0; i < 2; i++) {
    const bus = createBus({ transport: new MemoryTransport(hub) });
    t.after(() => bus.close());
    nodes.push(
      await createNode(
        { logLevel: 'silent', auth: 'none', busFrontDoor: false, nodeId: `node-${i}` },
        { bus, cluster: parts },
      ),
    );
  }
  const [a, b] = nodes as [AgentfleetNode, AgentfleetNode];
  await a.tenancy.registry.createTenant({ id: 'acme' });
  await a.definitions.put('acme', 'bot', rules('old', 'blue'), { format: 'json' });
  const green = await b.definitions.put('acme', 'bot', rules('new', 'green'), {
    format: 'json',
    current: false,
  });
  await a.definitions.sync();
  const events: Array<{ decision: string; definition: string }> = [];
  const subscription = await withTenant('acme', () =>
    a.bus.subscribe<{ decision: string; definition: string }>('agent.acme.rollouts', (message) => {
      events.push(message.payload);
    }),
  );
  t.after(() => subscription.close());
  const started = await a.rollouts.start('acme', 'bot', {
    to: green.version.version,
    steps: [50, 100],
    holdMs: 200,
    gates: { minSamples: 5 },
  });
  assert.equal(started.percent, 50);
  // Each node applies the shared split to its own versions.
  for (const node of nodes) {
    for (
      let i = 0;
      i < 200 &&
      node.definitions.versions('acme', 'bot')?.find((v) => v.id === green.version.id)?.percent !== 50;
      i++
    )
      await new Promise((r) => setTimeout(r, 10));
    assert.equal(
      node.definitions.versions('acme', 'bot')?.find((v) => v.id === green.version.id)?.percent,
      50,
    );
  }
  const ids = Array.from({ length: 10 }, (_, i) => `bot-${i}`);
  await withTenant('acme', async () => {
    for (const node of nodes) for (const id of ids) await node.runtime.spawn('bot', { id });
    for (let round = 0; round < 100; round++) {
      if ((await a.rollouts.status('acme', 'bot')).status !== 'running') break;
      for (const node of nodes) await Promise.all(ids.map((id) => node.runtime.send(id, {})));
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  const done = await b.rollouts.status('acme', 'bot');
  assert.equal(done.status, 'promoted', JSON.stringify(done.history));
  const deciders = new Set(done.history.filter((d) => d.decision !== 'start').map((d) => d.node));
  assert.equal(deciders.size, 1, 'one node decides');
  for (let i = 0; i < 200 && events.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(
    events.map((e) => [e.definition, e.decision]),
    [
      ['bot', 'start'],
      ['bot', 'advance'],
      ['bot', 'promote'],
    ],
    'every decision is an event on the tenant’s bus topic, once',
  );
  for (const node of nodes) {
    await node.definitions.sync();
    for (
      let i = 0;
      i < 200 && node.definitions.versions('acme', 'bot')?.find((v) => v.current)?.label !== 'green';
      i++
    )
      await new Promise((r) => setTimeout(r, 10));
    assert.equal(node.definitions.versions('acme', 'bot')?.find((v) => v.current)?.label, 'green');
    const answer = await withTenant('acme', () => node.runtime.send('bot-0', {}));
    assert.equal((answer as { value: string }).value, 'new');
  }
  // The tenant's deletion takes its rollouts with it.
  const deleted = await a.deleteTenant('acme');
  assert.equal(JSON.stringify(deleted).includes('"rollouts":1'), true, JSON.stringify(deleted));
  assert.deepEqual(await b.rollouts.list('acme'), []);
});
