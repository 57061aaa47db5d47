import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { scriptedProvider, toolLoop } from '../../test/scripted-provider.ts';
import { withTenant } from '../context/index.ts';
import { defineAgent } from '../core/index.ts';
import { llm } from '../llm-agent/index.ts';
import { newRunId } from '../runs/index.ts';
import { defineTool } from '../tools/index.ts';
import { createNode } from './index.ts';

describe('durable runs across nodes sharing a store', () => {
  it('an approval decided on another node resumes the run there, and the tool runs once', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'agentfleet-two-nodes-'));
    const executions: string[] = [];
    const definitions = (node: string) => [
      defineAgent({
        name: 'desk',
        durable: true,
        decide: llm({
          provider: scriptedProvider(toolLoop('refund', 1, () => ({ amount: 900 }))),
          model: 'm',
          tools: [
            defineTool({
              name: 'refund',
              description: 'Refund',
              parameters: z.object({ amount: z.number() }),
              needsApproval: true,
              execute: ({ amount }) => {
                executions.push(`${node}:${amount}`);
                return { ok: true };
              },
            }),
          ],
        }),
      }),
    ];
    try {
      const config = {
        logLevel: 'silent' as const,
        auth: 'none' as const,
        runs: 'sqlite',
        dataDir,
        busFrontDoor: false,
      };
      await using a = await createNode({ ...config, nodeId: 'node-a' }, { definitions: definitions('a') });
      await using b = await createNode({ ...config, nodeId: 'node-b' }, { definitions: definitions('b') });
      const runId = newRunId();
      await withTenant('acme', async () => {
        await a.runtime.spawn('desk', { id: 'd1' });
        await a.runs.send('d1', 'refund 900', { runId });
        assert.equal((await a.runs.get(runId)).status, 'awaiting-approval');
        assert.equal((await a.runs.get(runId)).owner, 'node-a');
      });
      await withTenant('acme', async () => {
        const [pending] = await b.runs.listApprovals({ status: 'pending' });
        assert.ok(pending, 'node b sees node a’s approval');
        await b.runs.decide(pending.id, { approve: true });
        let run = await b.runs.get(runId);
        for (let i = 0; i < 400 && run.status !== 'completed'; i++) {
          await new Promise((r) => setTimeout(r, 5));
          run = await b.runs.get(runId);
        }
        assert.equal(run.status, 'completed');
        assert.equal(
          run.owner,
          'node-b',
          'the deciding node resumed it (its agent made from the definition)',
        );
      });
      await withTenant('globex', async () => assert.deepEqual(await b.runs.listApprovals(), []));
      assert.deepEqual(executions, ['b:900']);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
