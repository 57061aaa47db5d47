import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { pino } from 'pino';
import { z } from 'zod';
import { TEST_ADMIN_KEY } from '../../test/server-auth.ts';
import { startVendorServer, type VendorServer } from '../../test/vendors/server.ts';
import { createBus } from '../bus/index.ts';
import { loadServerConfig } from '../config/index.ts';
import { enableTracing, tracingEnabled, withTenant } from '../context/index.ts';
import { createRuntime, defineAgent } from '../core/index.ts';
import { llm } from '../llm-agent/index.ts';
import { createProvider } from '../models/index.ts';
import { rules } from '../rules/index.ts';
import { startServer } from '../server/index.ts';
import { defineTool } from '../tools/index.ts';
import { setupTracing, type TracingHandle } from './tracing-setup.ts';

const exporter = new InMemorySpanExporter();
let handle: TracingHandle;
const spans = (name?: string): ReadableSpan[] =>
  exporter.getFinishedSpans().filter((s) => name === undefined || s.name === name);
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

before(() => {
  assert.equal(setupTracing({ env: {} }), undefined, 'no exporter configured: nothing set up');
  assert.equal(tracingEnabled(), false);
  handle = setupTracing({ exporter, immediate: true, env: {} })!;
});
after(() => handle.shutdown());
beforeEach(() => exporter.reset());

describe('agent lifecycle spans (the seed’s start / decision / terminate)', () => {
  it('agent.start SERVER, agent.decision INTERNAL, agent.terminate CLIENT with the seed’s attributes', async () => {
    const runtime = createRuntime();
    const approver = defineAgent({
      name: 'approver',
      version: '2.1',
      decide: () => ({ type: 'approve', confidence: 0.87654 }),
    });
    const agent = await withTenant('acme', () => runtime.spawn(approver, { id: 'a1' }));
    await withTenant('acme', () => agent.send(1));
    await agent.stop();
    const [start] = spans('agent.start');
    const [decision] = spans('agent.decision');
    const [terminate] = spans('agent.terminate');
    assert.ok(start && decision && terminate);
    assert.equal(start.kind, SpanKind.SERVER);
    assert.equal(start.attributes['agent.id'], 'a1');
    assert.equal(start.attributes['agent.version'], '2.1');
    assert.match(String(start.attributes['agent.runtime']), /^node-24\./);
    assert.equal(start.attributes['tenant.id'], 'acme');
    assert.equal(decision.kind, SpanKind.INTERNAL);
    assert.equal(decision.attributes['decision.type'], 'approve');
    assert.equal(decision.attributes['decision.confidence'], 0.877);
    assert.equal(typeof decision.attributes['decision.latency.ms'], 'number');
    assert.equal(decision.attributes['agent.id'], 'a1');
    assert.equal(
      decision.links[0]?.context.spanId,
      start.spanContext().spanId,
      'decisions link to the start',
    );
    assert.equal(terminate.kind, SpanKind.CLIENT);
    assert.equal(terminate.attributes['termination.reason'], 'success');
    assert.equal(parentOf(terminate), start.spanContext().spanId);
    assert.equal(terminate.spanContext().traceId, start.spanContext().traceId);
    await runtime.close();
  });

  it('decision.* attributes come from the decision, not from what act returns', async () => {
    const runtime = createRuntime();
    const judge = await runtime.spawn(
      defineAgent({
        name: 'judge',
        decide: () => ({ type: 'approve', confidence: 0.99 }),
        act: (d: { type: string }) => `carried out: ${d.type}`,
      }),
    );
    const ruled = await runtime.spawn(
      defineAgent({
        name: 'ruled',
        decide: rules<{ n: number }, string>({
          rules: [
            {
              name: 'big',
              when: { path: 'n', op: 'gt', value: 10 },
              decision: 'escalate',
              reason: 'big',
              confidence: 0.8,
            },
          ],
          otherwise: { decision: 'ignore', reason: 'small' },
        }),
        act: async (d: { reason: string }) => ({ reply: d.reason }),
      }),
    );
    assert.equal(await judge.send(1), 'carried out: approve');
    assert.deepEqual(await ruled.send({ n: 11 }), { reply: 'big' });
    const byAgent = (id: string) => spans('agent.decision').find((s) => s.attributes['agent.id'] === id);
    assert.equal(byAgent(judge.agentId)?.attributes['decision.type'], 'approve');
    assert.equal(byAgent(judge.agentId)?.attributes['decision.confidence'], 0.99);
    assert.equal(byAgent(ruled.agentId)?.attributes['decision.type'], 'escalate', "a rule's decision value");
    assert.equal(byAgent(ruled.agentId)?.attributes['decision.confidence'], 0.8);
    await runtime.close();
  });

  it('termination.reason is error, timeout or stopped when it ended that way; a failed step is an error span', async () => {
    const runtime = createRuntime();
    const crash = await runtime.spawn(
      defineAgent({
        name: 'crasher',
        onStepError: 'fail',
        decide: () => {
          throw new Error('boom');
        },
      }),
    );
    await assert.rejects(crash.send(1));
    const hang = await runtime.spawn(defineAgent({ name: 'hang', decide: () => new Promise(() => {}) }));
    void hang.send(1).catch(() => {});
    await hang.stop({ timeoutMs: 10 });
    const busy = await runtime.spawn(
      defineAgent({ name: 'busy', decide: () => new Promise((r) => setTimeout(r, 20)) }),
    );
    const pending = Promise.allSettled([busy.send(1), busy.send(2)]);
    await busy.stop();
    await pending;
    const reasons = spans('agent.terminate').map((s) => s.attributes['termination.reason']);
    assert.deepEqual(reasons.sort(), ['error', 'stopped', 'timeout']);
    const failed = spans('agent.decision').find((s) => s.status.code === 2);
    assert.ok(failed, 'the throwing step is an error span');
    await runtime.close();
  });
});

describe('GenAI spans', () => {
  let vendor: VendorServer;
  before(async () => {
    vendor = await startVendorServer({ latencyMs: 0 });
  });
  after(() => vendor.close());

  it('a chat span per model call and an execute_tool span per tool, children of the decision', async () => {
    const provider = createProvider('openai', { baseUrl: `${vendor.url}/v1`, apiKey: 'k' });
    const search = defineTool({
      name: 'search',
      description: 'Search',
      parameters: z.object({ query: z.string(), n: z.number() }),
      execute: ({ n }) => `${n} hits`,
    });
    const runtime = createRuntime();
    const agent = await runtime.spawn(
      defineAgent({
        name: 'assistant',
        decide: llm({ provider, model: 'm', tools: [search] }),
        act: (a) => a.text,
      }),
    );
    assert.equal(await agent.send('scenario:tool secret prompt'), 'done: 3 hits');
    const chats = spans('chat m');
    const tools = spans('execute_tool search');
    const [decision] = spans('agent.decision');
    const byId = new Map(exporter.getFinishedSpans().map((s) => [s.spanContext().spanId, s.name]));
    assert.deepEqual(
      chats.map((c) => byId.get(parentOf(c)!)),
      ['agent.decision', 'agent.decision'],
    );
    assert.equal(chats.length, 2);
    assert.equal(tools.length, 1);
    for (const chat of chats) {
      assert.equal(chat.kind, SpanKind.CLIENT);
      assert.equal(chat.attributes['gen_ai.operation.name'], 'chat');
      assert.equal(chat.attributes['gen_ai.provider.name'], 'openai');
      assert.equal(chat.attributes['gen_ai.request.model'], 'm');
      assert.ok((chat.attributes['gen_ai.usage.input_tokens'] as number) > 0);
      assert.equal(typeof chat.attributes['gen_ai.usage.output_tokens'], 'number');
      assert.ok(Array.isArray(chat.attributes['gen_ai.response.finish_reasons']));
      assert.equal(chat.attributes['gen_ai.input.messages'], undefined, 'no content unless enabled');
      assert.equal(parentOf(chat), decision!.spanContext().spanId);
    }
    assert.equal(tools[0]!.attributes['gen_ai.operation.name'], 'execute_tool');
    assert.equal(tools[0]!.attributes['gen_ai.tool.name'], 'search');
    assert.equal(parentOf(tools[0]!), decision!.spanContext().spanId);
    assert.ok(
      !JSON.stringify(exporter.getFinishedSpans().map((s) => s.attributes)).includes('secret prompt'),
    );
    await runtime.close();
    await provider.close();
  });

  it('records prompts and completions only when content capture is on', async () => {
    enableTracing(true, { captureContent: true });
    const provider = createProvider('openai', { baseUrl: `${vendor.url}/v1`, apiKey: 'k' });
    await provider.generate({
      model: 'm',
      messages: [{ role: 'user', content: 'scenario:echo visible prompt' }],
    });
    const [chat] = spans('chat m');
    assert.match(String(chat!.attributes['gen_ai.input.messages']), /visible prompt/);
    assert.match(String(chat!.attributes['gen_ai.output.messages']), /assistant/);
    await provider.close();
    enableTracing(true);
  });
});

describe('trace context across the bus and HTTP', () => {
  it('a bus handler continues the publisher’s trace in a CONSUMER span', async () => {
    const bus = createBus();
    let inHandler: string | undefined;
    await bus.subscribe('orders.new', () => {
      inHandler = trace.getActiveSpan()?.spanContext().traceId;
    });
    const root = trace.getTracer('test').startSpan('publisher');
    await context.with(trace.setSpan(context.active(), root), () => bus.publish('orders.new', 1));
    root.end();
    await new Promise((r) => setTimeout(r, 5));
    const [process] = spans('process orders.new');
    assert.ok(process);
    assert.equal(process.kind, SpanKind.CONSUMER);
    assert.equal(process.spanContext().traceId, root.spanContext().traceId);
    assert.equal(parentOf(process), root.spanContext().spanId);
    assert.equal(inHandler, root.spanContext().traceId);
    await bus.close();
  });

  it('an HTTP request with traceparent is a SERVER span in the caller’s trace, around the agent’s decision', async () => {
    const app = await startServer(
      loadServerConfig({}, { port: 0, host: '127.0.0.1', logLevel: 'silent', adminKey: TEST_ADMIN_KEY }),
      pino({ level: 'silent' }),
    );
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await fetch(`http://127.0.0.1:${app.port}/act`, {
      headers: {
        authorization: `Bearer ${TEST_ADMIN_KEY}`,
        'x-trusted': 'true',
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
      },
    });
    assert.equal(res.status, 200);
    await res.text();
    const [server] = spans('GET /act');
    assert.ok(server);
    assert.equal(server.kind, SpanKind.SERVER);
    assert.equal(server.spanContext().traceId, traceId);
    assert.equal(parentOf(server), '00f067aa0ba902b7');
    assert.equal(server.attributes['http.response.status_code'], 200);
    const decision = spans('agent.decision').find((s) => s.spanContext().traceId === traceId);
    assert.equal(decision?.attributes['decision.type'], 'EXECUTED');
    assert.equal(parentOf(decision!), server.spanContext().spanId);
    await app.shutdown();
  });
});
