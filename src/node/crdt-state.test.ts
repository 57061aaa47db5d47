// A definition's state fields declared as CRDTs, in a cluster: patches sent through different
// nodes merge on the agent's owner (none is lost, a repeated one changes nothing), and the
// merged state survives the owner leaving (hand-over through the agent's record).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterNodes } from '../../test/cluster-nodes.ts';
import { withTenant } from '../context/index.ts';
import { defineAgent } from '../core/index.ts';
import { GCounter, ORSet } from '../crdt/index.ts';

const tally = defineAgent({
  name: 'tally',
  decide: (x: unknown) => x,
  state: { crdt: { visits: 'g-counter', labels: 'or-set' } },
});

describe('CRDT state fields in a cluster', () => {
  it('patches through any node merge on the owner, and the merged state moves with the agent', async () => {
    const cluster = await clusterNodes(2, {}, [tally]);
    const [a, b] = cluster.nodes;
    assert.ok(a && b);
    try {
      await withTenant('acme', async () => {
        await a.agents.create({ definition: 'tally', id: 't1' });
        // Two writers, each sending its own counter entry and set additions as CRDT states.
        const w1 = new GCounter('w1');
        const w2 = new GCounter('w2');
        const patch = (values: Record<string, unknown>) => ({ op: 'patch' as const, values });
        await a.agents.state('t1', patch({ visits: w1.increment(2).state() }));
        await b.agents.state('t1', patch({ visits: w2.increment(3).state() }));
        await b.agents.state('t1', patch({ visits: w1.state() })); // again: nothing changes
        await b.agents.state('t1', patch({ labels: new ORSet('w1').add('red').state() }));
        await a.agents.state('t1', patch({ labels: new ORSet('w2').add('blue').state() }));
        const read = (await b.agents.state('t1', { op: 'get' })) as { values: Record<string, unknown> };
        assert.equal(GCounter.from(read.values.visits).value(), 5);
        assert.deepEqual((ORSet.from(read.values.labels).values() as string[]).sort(), ['blue', 'red']);
      });
      const owner = (await withTenant('acme', () => a.agents.list()))[0]?.node;
      const [leaving, staying] = owner === 'node-a' ? [a, b] : [b, a];
      await leaving.close();
      await withTenant('acme', async () => {
        const read = (await staying.agents.state('t1', { op: 'get' })) as { values: Record<string, unknown> };
        assert.equal(GCounter.from(read.values.visits).value(), 5);
        // And it merges on the new owner as before.
        await staying.agents.state('t1', {
          op: 'patch',
          values: { visits: new GCounter('w3').increment().state() },
        });
        const after = (await staying.agents.state('t1', { op: 'get' })) as {
          values: Record<string, unknown>;
        };
        assert.equal(GCounter.from(after.values.visits).value(), 6);
      });
    } finally {
      await cluster.close();
    }
  });
});
