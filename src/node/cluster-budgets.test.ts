// Budgets across a cluster: two nodes in one process (one bus) share a tenant's spending through
// CRDT counters, so a call on one node is refused for what the tenant spent on the other.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterNodes } from '../../test/cluster-nodes.ts';
import { eventually, rejectsWithCode } from '../../test/helpers.ts';
import { scriptedProvider } from '../../test/scripted-provider.ts';
import { withTenant } from '../context/index.ts';
import type { AgentfleetNode } from './index.ts';

const SPEC = JSON.stringify({
  name: 'chat',
  cognition: { type: 'llm', model: 'scripted/m', maxTokens: 20 },
  durable: false,
});

describe('budgets across a cluster', () => {
  it('two nodes count one tenant budget together; another tenant has its own', async () => {
    const cluster = await clusterNodes(2);
    const [a, b] = cluster.nodes as [AgentfleetNode, AgentfleetNode];
    try {
      for (const node of [a, b]) {
        node.models.add(scriptedProvider(() => ({ text: 'ok' }))); // 15 tokens a call
        node.tenancy.quotas.setQuotas('acme', { budget: { tokensPerPeriod: 50, periodSeconds: 3_600 } });
        await node.definitions.put('acme', 'chat', SPEC, { format: 'json' });
      }
      await withTenant('acme', async () => {
        await a.runtime.spawn('chat', { id: 'on-a' });
        await b.runtime.spawn('chat', { id: 'on-b' });
        await a.runtime.send('on-a', 'hi');
        await a.runtime.send('on-a', 'hi');
      });
      // b sees a's 30 tokens: 30 + a reservation of ≈ 21 passes 50.
      await eventually(() => b.budgets.spendOf('acme').tokens === 30);
      await withTenant('acme', () => rejectsWithCode(b.runtime.send('on-b', 'hi'), 'BUDGET_EXCEEDED'));
      // Another tenant has its own (no budget: counted only).
      await withTenant('globex', async () => {
        await b.definitions.put('globex', 'chat', SPEC, { format: 'json' });
        await b.runtime.spawn('chat', { id: 'g' });
        await b.runtime.send('g', 'hi');
      });
      await eventually(() => a.budgets.spendOf('globex').tokens === 15);
      assert.equal(a.budgets.spendOf('acme').tokens, 30);
      // Deleting the tenant on a drops its spending on b too (the cluster's deletion notice).
      await a.tenancy.registry.createTenant({ id: 'globex' }).catch(() => undefined);
      await a.deleteTenant('globex');
      await eventually(() => b.budgets.spendOf('globex').tokens === 0);
      assert.equal(a.budgets.spendOf('globex').tokens, 0);
      assert.equal(b.budgets.spendOf('globex').tokens, 0);
    } finally {
      await cluster.close();
    }
  });

  it('refuses a malformed or ended-period counter without changing the spending', async () => {
    const cluster = await clusterNodes(2);
    const [a, b] = cluster.nodes as [AgentfleetNode, AgentfleetNode];
    try {
      b.tenancy.quotas.setQuotas('acme', { budget: { tokensPerPeriod: 100, periodSeconds: 60 } });
      const key = `t.acme.60.${Math.floor(Date.now() / 60_000)}`;
      a.budgets.ledger.add(key, 0, 40, 0);
      await eventually(() => b.budgets.spendOf('acme').tokens === 40);
      const ledgerStats = () =>
        (b.budgets.ledger as unknown as { stats(): { invalid: number } }).stats().invalid;
      const before = ledgerStats();
      const { withoutTenant } = await import('../context/index.ts');
      await withoutTenant(async () => {
        const topic = 'crdt.agentfleet-budgets.delta';
        await cluster.bus.publish(topic, {
          from: 'evil',
          name: `${key}.tok`,
          delta: { type: 'pn-counter', p: { evil: 5 } },
        });
        await cluster.bus.publish(topic, {
          from: 'evil',
          name: 't.acme.60.1.tok', // a period long ended
          delta: { type: 'g-counter', counts: { evil: 1_000 } },
        });
      });
      await eventually(() => ledgerStats() - before === 2);
      assert.equal(b.budgets.spendOf('acme').tokens, 40);
    } finally {
      await cluster.close();
    }
  });
});
