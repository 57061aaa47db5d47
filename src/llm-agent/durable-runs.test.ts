import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { rejectsWithCode } from '../../test/helpers.ts';
import { scriptedProvider, toolLoop } from '../../test/scripted-provider.ts';
import { createRuntime, defineAgent } from '../core/index.ts';
import { MemoryRunStore, type RunStore } from '../runs/index.ts';
import { defineTool } from '../tools/index.ts';
import { type LlmAnswer, llm } from './index.ts';

function refundTool(executed: Array<{ amount: number }>, idempotent = false) {
  return defineTool({
    name: 'refund',
    description: 'Refund an amount',
    parameters: z.object({ amount: z.number() }),
    needsApproval: ({ amount }) => (amount > 100 ? `amount ${amount} is over the 100 limit` : false),
    idempotent,
    execute: ({ amount }) => {
      executed.push({ amount });
      return { refunded: amount };
    },
  });
}

async function agentOver(
  store: RunStore,
  script: Parameters<typeof scriptedProvider>[0],
  tools: Parameters<typeof llm>[0]['tools'],
) {
  const runtime = createRuntime();
  const provider = scriptedProvider(script);
  const cognition = llm({ provider, model: 'm', tools, runs: store });
  const agent = await runtime.spawn(defineAgent({ name: 'support', decide: cognition }), { id: 'a1' });
  return { runtime, agent, provider, cognition };
}

describe('durable runs of the LLM loop', () => {
  it('checkpoints each step and tool call as appends, and finishes with a summary', async () => {
    const store = new MemoryRunStore();
    const executed: Array<{ amount: number }> = [];
    const { runtime, agent } = await agentOver(
      store,
      toolLoop('refund', 2, (n) => ({ amount: n * 10 })),
      [refundTool(executed)],
    );
    const answer = (await agent.send('refund twice')) as LlmAnswer<undefined>;
    assert.equal(answer.stoppedBy, 'answer');
    assert.ok(answer.runId);
    const run = await store.get(undefined, answer.runId);
    assert.equal(run?.status, 'completed');
    assert.equal(run?.result, answer.text);
    assert.equal(run?.step, 3);
    const types = (await store.events(undefined, answer.runId)).map((e) => e.body.type);
    assert.deepEqual(types, [
      'start',
      'model-response',
      'tool-start',
      'tool-result',
      'model-response',
      'tool-start',
      'tool-result',
      'model-response',
      'finish',
    ]);
    assert.deepEqual(executed, [{ amount: 10 }, { amount: 20 }]);
    // Conversation memory lives in the store.
    assert.equal((await store.getConversation(undefined, 'a1'))?.messages[0]?.content, 'refund twice');
    await runtime.close();
  });

  it('suspends before a call that needs approval, holding nothing, and resumes with edited arguments', async () => {
    const store = new MemoryRunStore();
    const executed: Array<{ amount: number }> = [];
    const { runtime, agent, provider } = await agentOver(
      store,
      toolLoop('refund', 1, () => ({ amount: 500 })),
      [refundTool(executed)],
    );
    const parts: string[] = [];
    const answer = (await agent.send('refund 500', {
      onEvent: (p) => parts.push(p.type),
    })) as LlmAnswer<undefined>;
    assert.equal(answer.stoppedBy, 'awaiting-approval');
    assert.ok(parts.includes('tool-approval-request'));
    assert.equal(executed.length, 0);
    const runId = answer.runId as string;
    assert.equal((await store.get(undefined, runId))?.status, 'awaiting-approval');
    const [pending] = await store.listApprovals(undefined, { status: 'pending' });
    assert.equal(pending?.tool, 'refund');
    assert.equal(pending?.reason, 'amount 500 is over the 100 limit');
    assert.deepEqual(pending?.schema?.type, 'object');
    assert.equal(agent.info().inFlight, 0, 'no step is held while it waits');

    await store.decideApproval(undefined, pending!.id, {
      status: 'approved',
      at: Date.now(),
      arguments: '{"amount":400}',
    });
    const resumed = (await agent.send('refund 500', {
      run: { id: runId, resume: true },
    })) as LlmAnswer<undefined>;
    assert.equal(resumed.stoppedBy, 'answer');
    assert.match(resumed.text, /"refunded":400/);
    assert.deepEqual(executed, [{ amount: 400 }]);
    assert.equal((await store.get(undefined, runId))?.status, 'completed');
    assert.equal(provider.calls, 2, 'the model is not asked again for the approved step');
    await rejectsWithCode(agent.send('x', { run: { id: runId, resume: true } }), 'AGENT_STEP_FAILED');
    await runtime.close();
  });

  it('tells the model a call was rejected, and never runs it', async () => {
    const store = new MemoryRunStore();
    const executed: Array<{ amount: number }> = [];
    const { runtime, agent } = await agentOver(
      store,
      toolLoop('refund', 1, () => ({ amount: 900 })),
      [refundTool(executed)],
    );
    const answer = (await agent.send('refund 900')) as LlmAnswer<undefined>;
    const [pending] = await store.listApprovals(undefined);
    await store.decideApproval(undefined, pending!.id, {
      status: 'rejected',
      at: Date.now(),
      reason: 'too much',
    });
    const resumed = (await agent.send('', {
      run: { id: answer.runId as string, resume: true },
    })) as LlmAnswer<undefined>;
    assert.match(resumed.text, /TOOL_REJECTED.*too much/);
    assert.deepEqual(executed, []);
    await runtime.close();
  });

  it('after a crash in a tool call, re-runs an idempotent tool and asks about any other', async () => {
    for (const idempotent of [true, false]) {
      const store = new MemoryRunStore();
      let hang = true;
      let executions = 0;
      const slow = defineTool({
        name: 'slow',
        description: 'Slow',
        parameters: z.object({}),
        idempotent,
        execute: async (_args, { signal }) => {
          executions++;
          if (hang)
            await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
          return 'ok';
        },
      });
      const first = await agentOver(store, toolLoop('slow', 1), [slow]);
      const controller = new AbortController();
      const sent = first.agent.send('go', { signal: controller.signal });
      while (executions === 0) await new Promise((r) => setImmediate(r));
      controller.abort(); // the process "dies" mid-call: the run keeps its tool-start, no result
      await assert.rejects(sent);
      await first.runtime.close();
      const [run] = await store.unfinished();
      assert.equal(run?.status, 'running');
      hang = false;
      const second = await agentOver(store, toolLoop('slow', 1), [slow]);
      const resumed = (await second.agent.send('go', {
        run: { id: run!.id, resume: true },
      })) as LlmAnswer<undefined>;
      if (idempotent) {
        assert.equal(resumed.stoppedBy, 'answer');
        assert.equal(executions, 2);
      } else {
        assert.equal(resumed.stoppedBy, 'awaiting-approval');
        assert.equal(executions, 1, 'a call that may not run twice is not re-run');
        const [approval] = await store.listApprovals(undefined, { status: 'pending' });
        assert.equal(approval?.kind, 'interrupted');
      }
      await second.runtime.close();
    }
  });

  it('refuses to resume an unknown run or another agent’s', async () => {
    const store = new MemoryRunStore();
    const { runtime, agent } = await agentOver(store, toolLoop('none', 0), []);
    const answer = (await agent.send('hi')) as LlmAnswer<undefined>;
    const other = await runtime.spawn(
      defineAgent({
        name: 'other',
        decide: llm({ provider: scriptedProvider(toolLoop('none', 0)), model: 'm', runs: store }),
      }),
      { id: 'a2' },
    );
    const error = await other
      .send('x', { run: { id: answer.runId as string, resume: true } })
      .catch((e: Error) => e);
    assert.equal((error as { cause?: { code?: string } }).cause?.code, 'RUN_NOT_FOUND');
    await runtime.close();
  });
});
