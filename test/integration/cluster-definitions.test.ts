// Tenants' definitions in a cluster on loopback NATS (config `cluster`): two nodes of one fresh
// cluster name share them through its `<name>-definitions` bucket; buckets deleted afterwards.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, it } from 'node:test';
import { withTenant } from '../../src/context/index.ts';
import { type AgentfleetNode, createNode } from '../../src/node/index.ts';
import { dropCluster } from './cluster-harness.ts';
import { NATS_URL, serverSkipReason } from './servers.ts';

const skip = await serverSkipReason('NATS', 4222);
const name = `afdefs${randomBytes(4).toString('hex')}`;
const nodes: AgentfleetNode[] = [];
const url = `nats://${NATS_URL.replace(/^nats:\/\//, '')}`;

after(async () => {
  for (const node of nodes) await node.close();
  if (skip === undefined) await dropCluster(name);
});

const spec = (description: string) =>
  JSON.stringify({
    name: 'router',
    description,
    cognition: {
      type: 'rules',
      rules: [{ name: 'any', when: { path: 'x', op: 'exists' }, decision: 'seen', reason: 'x is there' }],
      otherwise: { decision: 'none', reason: 'no x' },
    },
  });

it('a definition put on one node is used, replaced and deleted through the other', { skip }, async () => {
  for (const id of ['a', 'b'])
    nodes.push(
      await createNode({
        logLevel: 'silent',
        auth: 'none',
        bus: url,
        runs: url,
        cluster: url,
        clusterName: name,
        nodeId: `node-${id}`,
      }),
    );
  const [a, b] = nodes as [AgentfleetNode, AgentfleetNode];
  await withTenant('acme', async () => {
    await a.definitions.put('acme', 'router', spec('first'), { format: 'json' });
    const agent = await b.agents.create({ definition: 'router' }); // b catches up with the bucket
    const reply = await a.agents.send(agent.id, { x: 1 });
    assert.match(JSON.stringify(reply.output), /seen/);
    await b.definitions.put('acme', 'router', spec('second'), { format: 'json' });
    await a.definitions.sync();
    assert.equal(a.definitions.get('acme', 'router')?.description, 'second');
    assert.equal(await a.definitions.delete('acme', 'router'), true);
    await b.definitions.sync();
    assert.equal(b.definitions.get('acme', 'router'), undefined);
    assert.equal(b.runtime.hasDefinition('router'), false);
  });
  await withTenant('globex', () => assert.equal(b.definitions.get('globex', 'router'), undefined));
});
