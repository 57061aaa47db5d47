import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { startVendorServer, type VendorServer } from '../../test/vendors/server.ts';
import { createRuntime, defineAgent } from '../core/index.ts';
import type { Provider } from '../llm/index.ts';
import { createProvider } from '../models/index.ts';
import { defineTool } from '../tools/index.ts';
import { type AgentEvent, llm } from './index.ts';

const search = defineTool({
  name: 'search',
  description: 'Search',
  parameters: z.object({ query: z.string(), n: z.number() }),
  execute: ({ query, n }) => `found ${n} for ${query}`,
});

describe('the LLM agent loop', () => {
  let server: VendorServer;
  let provider: Provider;
  const signal = new AbortController().signal;
  before(async () => {
    server = await startVendorServer();
    provider = createProvider('openai', { baseUrl: `${server.url}/v1`, apiKey: 'k' });
  });
  after(async () => {
    await provider.close();
    await server.close();
  });

  it('calls tools for three steps, then answers; streams every step', async () => {
    const brain = llm({ provider, model: 'm', system: 'You search.', tools: [search] });
    const events: AgentEvent[] = [];
    for await (const e of brain.run('scenario:tools3 look', { agentId: 'a1', signal })) events.push(e);
    const final = events.at(-1);
    assert.equal(final?.type, 'final');
    if (final?.type !== 'final') return;
    assert.equal(final.answer.text, 'done: found 3 for x');
    assert.equal(final.answer.steps, 4);
    assert.equal(final.answer.toolCalls, 3);
    assert.equal(final.answer.stoppedBy, 'answer');
    assert.ok(final.answer.usage.inputTokens > 0);
    assert.deepEqual(
      events.filter((e) => e.type === 'tool-call' || e.type === 'tool-result').map((e) => e.type),
      ['tool-call', 'tool-result', 'tool-call', 'tool-result', 'tool-call', 'tool-result'],
    );
    assert.ok(events.some((e) => e.type === 'text-delta'));
  });

  it('bad tool arguments go back to the model, are counted, and the run goes on', async () => {
    const strict = defineTool({
      name: 'search',
      description: 'Search',
      parameters: z.object({ query: z.string().min(5), n: z.number() }), // the fake sends "x"
      execute: () => 'never',
    });
    const brain = llm({ provider, model: 'm', tools: [strict] });
    const answer = await brain.decide('scenario:tool x', { agentId: 'a2', signal });
    assert.match(answer.text, /TOOL_ARGUMENTS_INVALID/);
    assert.equal(brain.toolStats().invalidArguments, 1);
  });

  it('stops at maxSteps or a stop condition', async () => {
    const capped = await llm({ provider, model: 'm', tools: [search], maxSteps: 2 }).decide(
      'scenario:tools3',
      {
        agentId: 'a3',
        signal,
      },
    );
    assert.deepEqual([capped.steps, capped.stoppedBy], [2, 'max-steps']);
    const early = await llm({
      provider,
      model: 'm',
      tools: [search],
      stopWhen: ({ toolCalls }) => toolCalls.length > 0,
    }).decide('scenario:tools3', { agentId: 'a3', signal });
    assert.deepEqual([early.steps, early.stoppedBy], [1, 'stop-condition']);
  });

  it('validates a structured final answer against the output schema', async () => {
    const good = await llm({
      provider,
      model: 'm',
      output: z.object({ answer: z.string(), score: z.number() }),
    }).decide('scenario:json', { agentId: 'a4', signal });
    assert.deepEqual(good.output, { answer: 'x', score: 3 });
    assert.equal(server.calls.at(-1)?.body.response_format.type, 'json_schema');
    await assert.rejects(
      llm({ provider, model: 'm', output: z.object({ answer: z.number() }) }).decide('scenario:json', {
        agentId: 'a4',
        signal,
      }),
      { code: 'LLM_OUTPUT_INVALID' },
    );
  });

  it('keeps a bounded conversation per agent, summarising what it drops', async () => {
    const summaries: number[] = [];
    const brain = llm({
      provider,
      model: 'm',
      memory: {
        maxMessages: 4,
        summarize: async (dropped) => {
          summaries.push(dropped.length);
          return `dropped ${dropped.length}`;
        },
      },
    });
    for (let i = 0; i < 4; i++) await brain.decide(`turn ${i}`, { agentId: 'mem', signal });
    const sent = server.calls.at(-1)?.body.messages as Array<{ role: string; content: string }>;
    assert.equal(sent[0]?.content, 'Summary of the earlier conversation: dropped 2');
    assert.deepEqual(
      sent.slice(1).map((m) => m.content),
      ['turn 1', 'echo: turn 1', 'turn 2', 'echo: turn 2', 'turn 3'],
    );
    assert.deepEqual(summaries, [2, 2]);
    await brain.decide('other agent', { agentId: 'other', signal });
    assert.equal(server.calls.at(-1)?.body.messages.length, 1);
  });

  it('is cognition for defineAgent; provider errors and aborts surface typed', async () => {
    const runtime = createRuntime();
    const brain = llm({ provider, model: 'm', tools: [search] });
    const agent = await runtime.spawn(defineAgent({ name: 'assistant', decide: brain, act: (a) => a.text }));
    assert.equal(await agent.send('scenario:tool go'), 'done: found 3 for x');
    await assert.rejects(brain.decide('scenario:auth', { agentId: 'x', signal }), { code: 'LLM_AUTH' });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    await assert.rejects(brain.decide('scenario:stall', { agentId: 'x', signal: controller.signal }), {
      code: 'ABORTED',
    });
    await runtime.close();
  });
});
