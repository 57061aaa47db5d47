// Tenant usage across a cluster: three nodes in one process (one bus, directory and lease
// store) count a tenant's agents and messages together, the agent quota is enforced against
// the cluster's count, a malformed counter message is refused, and a deleted tenant's counters go.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterNodes } from '../../test/cluster-nodes.ts';
import { eventually, liveResources, noMoreResourcesThan, rejectsWithCode } from '../../test/helpers.ts';
import { TEST_ADMIN_KEY } from '../../test/server-auth.ts';
import { withoutTenant, withTenant } from '../context/index.ts';
import type { AgentfleetNode } from './index.ts';

const usageOf = (node: AgentfleetNode, tenant: string) => node.cluster?.clusterUsage(tenant);
const agentsEverywhere = (nodes: AgentfleetNode[], tenant: string, agents: number) =>
  nodes.every((n) => usageOf(n, tenant)?.agents === agents);

describe('tenant usage across a cluster', () => {
  it('counts a tenant’s agents over every node and refuses one past maxAgents on another node', async () => {
    const baseline = liveResources();
    const cluster = await clusterNodes(3, { maxAgentsPerTenant: 2 });
    const [a, b, c] = cluster.nodes as [AgentfleetNode, AgentfleetNode, AgentfleetNode];
    try {
      await withTenant('acme', async () => {
        await a.agents.create({ definition: 'echo', id: 'e1' });
        await a.agents.create({ definition: 'echo', id: 'e2' });
      });
      await eventually(() => agentsEverywhere([a, b, c], 'acme', 2));
      // b and c hold none of acme's agents in their runtimes, yet the cluster's count refuses a third.
      assert.equal(b.runtime.tenantUsage('acme').agents, 0);
      await withTenant('acme', async () => {
        await rejectsWithCode(b.agents.create({ definition: 'echo', id: 'e3' }), 'QUOTA_EXCEEDED');
        await rejectsWithCode(c.agents.create({ definition: 'echo' }), 'QUOTA_EXCEEDED');
      });
      // Another tenant has its own count.
      await withTenant('globex', () => b.agents.create({ definition: 'echo', id: 'g1' }));
      await eventually(() => agentsEverywhere([a, b, c], 'globex', 1));
      assert.ok(agentsEverywhere([a, b, c], 'acme', 2));
      // A removal anywhere frees a place everywhere.
      await withTenant('acme', () => c.agents.remove('e1'));
      await eventually(() => agentsEverywhere([a, b, c], 'acme', 1));
      await withTenant('acme', () => b.agents.create({ definition: 'echo', id: 'e3' }));
      await eventually(() => agentsEverywhere([a, b, c], 'acme', 2));
      // Messages handled are summed over the nodes that handled them.
      await withTenant('acme', async () => {
        for (const node of [a, b, c]) await node.agents.send('e3', 'hi');
        await b.agents.send('e2', 'hi');
      });
      for (const node of [a, b, c]) node.cluster?.usage?.flush();
      await eventually(() => [a, b, c].every((n) => usageOf(n, 'acme')?.messages === 4));
      assert.equal(usageOf(a, 'globex')?.messages, 0);
    } finally {
      await cluster.close();
    }
    await noMoreResourcesThan(baseline);
  });

  it('refuses a malformed counter message without changing the counts', async () => {
    const cluster = await clusterNodes(2, { maxAgentsPerTenant: 1 });
    const [a, b] = cluster.nodes as [AgentfleetNode, AgentfleetNode];
    try {
      await withTenant('acme', () => a.agents.create({ definition: 'echo', id: 'e1' }));
      await eventually(() => agentsEverywhere([a, b], 'acme', 1));
      const bad: unknown[] = [
        { from: 'evil', name: 'agents.acme.0', delta: { type: 'pn-counter', n: { evil: -5 } } },
        { from: 'evil', name: 'agents.acme.0', delta: { type: 'g-counter', counts: { evil: 1 } } },
        { from: 'evil', name: 'agents.acme.0', delta: 'minus one' },
        'not a message',
      ];
      const before = b.cluster?.usage?.stats().invalid ?? 0;
      await withoutTenant(async () => {
        for (const payload of bad) await cluster.bus.publish('crdt.agentfleet-usage.delta', payload);
      });
      await eventually(() => (b.cluster?.usage?.stats().invalid ?? 0) - before === bad.length);
      assert.ok(agentsEverywhere([a, b], 'acme', 1));
      await withTenant('acme', () =>
        rejectsWithCode(b.agents.create({ definition: 'echo', id: 'e2' }), 'QUOTA_EXCEEDED'),
      );
      // The counters still replicate afterwards.
      await withTenant('acme', () => b.agents.remove('e1'));
      await eventually(() => agentsEverywhere([a, b], 'acme', 0));
    } finally {
      await cluster.close();
    }
  });

  it('deleting a tenant removes its counters on every node; the tenant made anew counts from zero', async () => {
    const cluster = await clusterNodes(2);
    const [a, b] = cluster.nodes as [AgentfleetNode, AgentfleetNode];
    try {
      await withTenant('acme', async () => {
        await a.agents.create({ definition: 'echo', id: 'e1' });
        await b.agents.create({ definition: 'echo', id: 'e2' });
        await b.agents.send('e2', 'hi');
      });
      b.cluster?.usage?.flush();
      await eventually(() =>
        [a, b].every((n) => usageOf(n, 'acme')?.agents === 2 && usageOf(n, 'acme')?.messages === 1),
      );
      assert.equal(a.cluster?.usage?.size, 2, 'acme’s agents and messages');
      assert.deepEqual(await a.cluster?.purgeTenant('acme'), { agents: 2 });
      await eventually(() => [a, b].every((n) => n.cluster?.usage?.size === 0));
      // A late digest or delta of the old generation does not bring them back (the delta is refused).
      const refused = a.cluster?.usage?.stats().invalid ?? 0;
      await withoutTenant(async () => {
        const stale = { type: 'pn-counter', p: { ghost: 7 } };
        await cluster.bus.publish('crdt.agentfleet-usage.digest', {
          from: 'ghost',
          digests: { 'agents.acme.0': stale },
        });
        await cluster.bus.publish('crdt.agentfleet-usage.delta', {
          from: 'ghost',
          name: 'agents.acme.0',
          delta: stale,
        });
      });
      await eventually(() => (a.cluster?.usage?.stats().invalid ?? 0) === refused + 1);
      assert.deepEqual(usageOf(a, 'acme'), { agents: 0, messages: 0 });
      assert.equal(a.cluster?.usage?.size, 0);
      await withTenant('acme', () => b.agents.create({ definition: 'echo', id: 'e1' }));
      await eventually(() => agentsEverywhere([a, b], 'acme', 1));
      assert.equal(usageOf(a, 'acme')?.messages, 0);
    } finally {
      await cluster.close();
    }
  });

  it('GET /v1/stats gives a tenant the cluster’s figures beside this node’s', async () => {
    const cluster = await clusterNodes(2, {
      auth: 'keys',
      adminKey: TEST_ADMIN_KEY,
      port: 0,
      host: '127.0.0.1',
    });
    const [a, b] = cluster.nodes as [AgentfleetNode, AgentfleetNode];
    const { startServer } = await import('../server/index.ts');
    const server = await startServer(b, { logger: b.logger });
    try {
      await withTenant('acme', () => a.agents.create({ definition: 'echo', id: 'e1' }));
      await eventually(() => agentsEverywhere([a, b], 'acme', 1));
      const res = await fetch(`http://127.0.0.1:${server.port}/v1/stats`, {
        headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'x-agentfleet-tenant': 'acme' },
      });
      assert.equal(res.status, 200);
      const { spend, ...usage } = (await res.json()) as { spend: { tokens: number } };
      assert.equal(spend.tokens, 0);
      assert.deepEqual(usage, {
        tenant: 'acme',
        agents: 0,
        inFlight: 0,
        cluster: { agents: 1, messages: 0 },
      });
    } finally {
      await server.shutdown();
      await cluster.close();
    }
  });
});
