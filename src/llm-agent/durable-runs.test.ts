import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { rejectsWithCode } from '../../test/helpers.ts';
import { scriptedProvider, toolLoop } from '../../test/scripted-provider.ts';
import { withTenant } from '../context/index.ts';
import { createRuntime, defineAgent } from '../core/index.ts';
import { MemoryRunStore, newRunId, type RunStore } from '../runs/index.ts';
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

  it('an approval covers one execution: an approved call interrupted mid-run asks again, with the edited arguments', async () => {
    const store = new MemoryRunStore();
    const executed: number[] = [];
    let hang = true;
    const refund = defineTool({
      name: 'refund',
      description: 'Refund an amount',
      parameters: z.object({ amount: z.number() }),
      needsApproval: ({ amount }) => amount > 100,
      execute: async ({ amount }, { signal }) => {
        executed.push(amount);
        if (hang)
          await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
        return { refunded: amount };
      },
    });
    const script = toolLoop('refund', 1, () => ({ amount: 500 }));
    const first = await agentOver(store, script, [refund]);
    const answer = (await first.agent.send('refund 500')) as LlmAnswer<undefined>;
    const runId = answer.runId as string;
    const [asked] = await store.listApprovals(undefined, { status: 'pending' });
    await store.decideApproval(undefined, asked!.id, {
      status: 'approved',
      at: Date.now(),
      arguments: '{"amount":400}',
    });
    const controller = new AbortController();
    const sent = first.agent.send('', { run: { id: runId, resume: true }, signal: controller.signal });
    while (executed.length === 0) await new Promise((r) => setImmediate(r));
    controller.abort(); // the process "dies" while the approved call runs
    await assert.rejects(sent);
    await first.runtime.close();

    const second = await agentOver(store, script, [refund]);
    const again = (await second.agent.send('', { run: { id: runId, resume: true } })) as LlmAnswer<undefined>;
    assert.equal(again.stoppedBy, 'awaiting-approval');
    assert.deepEqual(executed, [400], 'the approved call is not run a second time unasked');
    const [retry] = await store.listApprovals(undefined, { status: 'pending' });
    assert.equal(retry?.kind, 'interrupted');
    assert.equal(retry?.arguments, '{"amount":400}', 'the person is asked about what ran');
    await store.decideApproval(undefined, retry!.id, { status: 'approved', at: Date.now() });
    hang = false;
    const done = (await second.agent.send('', { run: { id: runId, resume: true } })) as LlmAnswer<undefined>;
    assert.equal(done.stoppedBy, 'answer');
    assert.deepEqual(executed, [400, 400]);
    await second.runtime.close();
  });

  it('an approved retry of an interrupted call covers one execution too', async () => {
    const store = new MemoryRunStore();
    let executions = 0;
    const charge = defineTool({
      name: 'charge',
      description: 'Charge',
      parameters: z.object({}),
      execute: async (_args, { signal }) => {
        executions++;
        await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      },
    });
    const crashMidCall = async (resume: string | undefined) => {
      const { runtime, agent } = await agentOver(store, toolLoop('charge', 1), [charge]);
      const before = executions;
      const controller = new AbortController();
      const sent = agent.send('go', {
        signal: controller.signal,
        ...(resume === undefined ? {} : { run: { id: resume, resume: true } }),
      });
      while (executions === before) await new Promise((r) => setImmediate(r));
      controller.abort();
      await assert.rejects(sent);
      await runtime.close();
    };
    await crashMidCall(undefined);
    const [run] = await store.unfinished();
    const { runtime, agent } = await agentOver(store, toolLoop('charge', 1), [charge]);
    const asked = (await agent.send('', { run: { id: run!.id, resume: true } })) as LlmAnswer<undefined>;
    assert.equal(asked.stoppedBy, 'awaiting-approval');
    await runtime.close();
    const [retry] = await store.listApprovals(undefined, { status: 'pending' });
    await store.decideApproval(undefined, retry!.id, { status: 'approved', at: Date.now() });
    await crashMidCall(run!.id); // the approved retry is interrupted too
    assert.equal(executions, 2);
    const last = await agentOver(store, toolLoop('charge', 1), [charge]);
    const again = (await last.agent.send('', { run: { id: run!.id, resume: true } })) as LlmAnswer<undefined>;
    assert.equal(again.stoppedBy, 'awaiting-approval', 'a person is asked again');
    assert.equal(executions, 2);
    assert.equal((await store.listApprovals(undefined, { status: 'pending' }))[0]?.kind, 'interrupted');
    await last.runtime.close();
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

describe('a durable agent without a store of its own', () => {
  it('keeps its conversation in the store its messages bring (the node’s)', async () => {
    const store = new MemoryRunStore();
    const runtime = createRuntime();
    const cognition = llm({ provider: scriptedProvider(toolLoop('none', 0)), model: 'm' });
    const agent = await runtime.spawn(defineAgent({ name: 'chat', durable: true, decide: cognition }), {
      id: 'c1',
    });
    await agent.send('hello', { run: { id: newRunId(), store, owner: 'n1' } });
    const run = (await store.list(undefined))[0];
    assert.equal(run?.owner, 'n1');
    assert.equal(run?.status, 'completed');
    assert.equal((await store.getConversation(undefined, 'c1'))?.messages[0]?.content, 'hello');
    await runtime.close();
  });
});

describe('the in-memory store of a cognition whose tools need approval', () => {
  it('drops finished runs as it goes, and a tenant’s runs and approvals with the tenant', async () => {
    const executed: Array<{ amount: number }> = [];
    const cognition = llm({
      provider: scriptedProvider(toolLoop('refund', 1, () => ({ amount: 5 }))),
      model: 'm',
      tools: [refundTool(executed)],
    });
    const store = cognition.runs as RunStore;
    const runtime = createRuntime();
    const agent = await runtime.spawn(defineAgent({ name: 'small', decide: cognition }), { id: 's1' });
    for (let i = 0; i < 300; i++) await agent.send(`refund ${i}`); // 5 is under the limit: no approval
    assert.equal(executed.length, 300);
    assert.ok((await store.list(undefined, { limit: 1_000 })).length < 256, 'finished runs are swept');

    const big = llm({
      provider: scriptedProvider(toolLoop('refund', 1, () => ({ amount: 500 }))),
      model: 'm',
      tools: [refundTool(executed)],
    });
    const bigStore = big.runs as RunStore;
    runtime.register(defineAgent({ name: 'big', decide: big }));
    await withTenant('acme', async () => {
      const a = await runtime.spawn('big', { id: 'b1' });
      assert.equal(((await a.send('refund 500')) as LlmAnswer<undefined>).stoppedBy, 'awaiting-approval');
    });
    assert.equal((await bigStore.listApprovals('acme')).length, 1);
    await runtime.purgeTenant('acme');
    assert.deepEqual(await bigStore.listApprovals('acme'), []);
    assert.deepEqual(await bigStore.list('acme'), []);
    await runtime.close();
  });
});
