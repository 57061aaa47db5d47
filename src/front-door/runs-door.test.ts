import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { rejectsWithCode } from '../../test/helpers.ts';
import { scriptedProvider, toolLoop } from '../../test/scripted-provider.ts';
import { withTenant } from '../context/index.ts';
import { defineAgent } from '../core/index.ts';
import { llm } from '../llm-agent/index.ts';
import { createNode } from '../node/index.ts';
import { newRunId } from '../runs/index.ts';
import { defineTool } from '../tools/index.ts';

function remoteCode(error: { details?: Record<string, unknown> }): unknown {
  return (error.details?.remote as { code?: unknown } | undefined)?.code;
}

describe('runs on the bus (agent.<tenant>.runs)', () => {
  it('lists and decides approvals and reads runs, in the subject’s tenant only', async () => {
    let refunded = 0;
    const refund = defineTool({
      name: 'refund',
      description: 'Refund',
      parameters: z.object({ amount: z.number() }),
      needsApproval: true,
      execute: ({ amount }) => {
        refunded += amount;
        return { ok: true };
      },
    });
    const desk = defineAgent({
      name: 'desk',
      durable: true,
      decide: llm({
        provider: scriptedProvider(toolLoop('refund', 1, () => ({ amount: 7 }))),
        model: 'm',
        tools: [refund],
      }),
    });
    await using node = await createNode({ logLevel: 'silent', auth: 'none' }, { definitions: [desk] });
    const bus = node.bus;
    const runId = newRunId();
    await withTenant('acme', async () => {
      await node.runtime.spawn('desk', { id: 'd1' });
      await node.runs.send('d1', 'refund 7', { runId });
    });
    const listed = (await bus.request('agent.acme.runs', { op: 'approvals', status: 'pending' })).payload as {
      approvals: Array<{ id: string; tool: string }>;
    };
    assert.equal(listed.approvals.length, 1);
    assert.equal(listed.approvals[0]?.tool, 'refund');
    const theirs = (await bus.request('agent.globex.runs', { op: 'approvals' })).payload as {
      approvals: unknown[];
    };
    assert.deepEqual(theirs.approvals, [], 'another tenant sees none');
    const foreign = await bus
      .request('agent.globex.runs', { op: 'decide', approvalId: listed.approvals[0]!.id, approve: true })
      .catch((e) => e);
    assert.equal(remoteCode(foreign), 'APPROVAL_NOT_FOUND');
    await rejectsWithCode(bus.request('agent.acme.runs', { op: 'fly' }), 'REQUEST_FAILED');
    const decided = (
      await bus.request('agent.acme.runs', {
        op: 'decide',
        approvalId: listed.approvals[0]!.id,
        approve: true,
      })
    ).payload as { approval: { status: string } };
    assert.equal(decided.approval.status, 'approved');
    for (let i = 0; i < 200 && refunded === 0; i++) await new Promise((r) => setTimeout(r, 5));
    let status = '';
    for (let i = 0; i < 200 && status !== 'completed'; i++) {
      status = (
        (await bus.request('agent.acme.runs', { op: 'get', runId })).payload as { run: { status: string } }
      ).run.status;
      if (status !== 'completed') await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(status, 'completed');
    assert.equal(refunded, 7);
    const again = await bus.request('agent.acme.runs', { op: 'cancel', runId }).catch((e) => e);
    assert.equal(remoteCode(again), 'RUN_FINISHED');
    const missing = await bus.request('agent.globex.runs', { op: 'get', runId }).catch((e) => e);
    assert.equal(remoteCode(missing), 'RUN_NOT_FOUND');
  });

  it('a message to a durable agent on its inbox is a run of the node (its reply names the run)', async () => {
    const chat = defineAgent({
      name: 'chat',
      durable: true,
      decide: llm({ provider: scriptedProvider(toolLoop('none', 0)), model: 'm' }),
    });
    await using node = await createNode({ logLevel: 'silent', auth: 'none' }, { definitions: [chat] });
    await withTenant('acme', () => node.runtime.spawn('chat', { id: 'c1' }));
    const reply = (await node.bus.request('agent.acme.c1.inbox', { input: 'hello' })).payload as {
      runId: string;
      output: { text: string };
    };
    assert.match(reply.runId, /^run_/);
    const run = (await node.bus.request('agent.acme.runs', { op: 'get', runId: reply.runId })).payload as {
      run: { status: string; agentId: string };
    };
    assert.equal(run.run.status, 'completed');
    assert.equal(run.run.agentId, 'c1');
    const bad = await node.bus.request('agent.acme.c1.inbox', { input: { nope: 1 } }).catch((e) => e);
    assert.equal(remoteCode(bad), 'INVALID_REQUEST');
  });
});
