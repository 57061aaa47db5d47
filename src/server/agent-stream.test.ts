// POST /v1/agents/:id/messages with Accept: text/event-stream, for an LLM agent.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { z } from 'zod';
import { createTestTenant } from '../../test/server-auth.ts';
import { startVendorServer, type VendorServer } from '../../test/vendors/server.ts';
import { loadServerConfig } from '../config/index.ts';
import { withTenant } from '../context/index.ts';
import { defineAgent } from '../core/index.ts';
import type { Provider } from '../llm/index.ts';
import { llm } from '../llm-agent/index.ts';
import { createProvider } from '../models/index.ts';
import { defineTool } from '../tools/index.ts';
import { type RunningServer, startServer } from './start-server.ts';

/** Resolves once `condition()` holds, checking after each turn of the event loop. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

/** Reads an SSE response into [event, data] pairs. */
function parseSse(text: string): Array<[string, unknown]> {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
      const data = /^data: (.*)$/m.exec(block)?.[1] ?? 'null';
      return [event, JSON.parse(data)];
    });
}

describe('agent messages as server-sent events', () => {
  let vendor: VendorServer;
  let provider: Provider;
  let app: RunningServer;
  let base: string;
  let authorization: string;
  before(async () => {
    vendor = await startVendorServer({ latencyMs: 0 });
    provider = createProvider('openai', { baseUrl: `${vendor.url}/v1`, apiKey: 'k' });
    app = await startServer(
      loadServerConfig({}, { port: 0, host: '127.0.0.1', logLevel: 'silent' }),
      pino({ level: 'silent' }),
    );
    base = `http://127.0.0.1:${app.port}`;
    authorization = (await createTestTenant(app, 'streamer')).authorization;
    const search = defineTool({
      name: 'search',
      description: 'Search',
      parameters: z.object({ query: z.string(), n: z.number() }),
      execute: ({ n }) => `${n} hits`,
    });
    app.runtime.register(
      defineAgent({
        name: 'assistant',
        decide: llm({ provider, model: 'm', tools: [search] }),
        act: (a) => a.text,
      }),
    );
    await fetch(`${base}/v1/agents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization },
      body: JSON.stringify({ definition: 'assistant', id: 'helper' }),
    });
    app.runtime.register(
      defineAgent({
        name: 'counter',
        decide: (input: unknown, ctx) => {
          ctx.emit({ type: 'progress', name: 'rule-fired', data: { rule: 'r1' } });
          ctx.emit({ type: 'progress', name: 'Not An Event Name!' });
          return `counted ${String(input)}`;
        },
      }),
    );
    await fetch(`${base}/v1/agents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization },
      body: JSON.stringify({ definition: 'counter', id: 'tally' }),
    });
  });
  after(async () => {
    await app.shutdown();
    await provider.close();
    await vendor.close();
  });

  const post = (input: string, accept = 'text/event-stream', id = 'helper', signal?: AbortSignal) =>
    fetch(`${base}/v1/agents/${id}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept, authorization },
      body: JSON.stringify({ input }),
      ...(signal ? { signal } : {}),
    });

  it('streams steps, text deltas, tool calls and results, then the result', async () => {
    const res = await post('scenario:tool go');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const events = parseSse(await res.text());
    const names = events.map(([e]) => e);
    assert.ok(names.includes('text-delta') && names.includes('tool-call') && names.includes('tool-result'));
    assert.deepEqual(events.at(-1), ['result', { output: 'done: 3 hits' }]);
    const plain = await post('hello', 'application/json');
    assert.deepEqual(await plain.json(), { output: 'echo: hello' });
  });

  it("a function agent's progress parts arrive named by their `name` (else `progress`), then the result", async () => {
    const events = parseSse(await (await post('x', 'text/event-stream', 'tally')).text());
    assert.deepEqual(events, [
      ['rule-fired', { type: 'progress', name: 'rule-fired', data: { rule: 'r1' } }],
      ['progress', { type: 'progress', name: 'Not An Event Name!' }],
      ['result', { output: 'counted x' }],
    ]);
  });

  it('a failure after the stream started arrives as an error event; before it, as an HTTP error', async () => {
    const events = parseSse(await (await post('scenario:ratelimit')).text());
    const [name, data] = events.at(-1) as [string, { error: { code: string } }];
    assert.equal(name, 'error');
    assert.equal(data.error.code, 'AGENT_STEP_FAILED');
    const missing = await post('hi', 'text/event-stream', 'nobody');
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'AGENT_NOT_FOUND');
  });

  it('a client that disconnects cancels the run upstream', async () => {
    const controller = new AbortController();
    const before = vendor.calls.length;
    const res = await post('scenario:stall', 'text/event-stream', 'helper', controller.signal);
    const reader = res.body?.getReader();
    await reader?.read(); // the first event
    const helper = withTenant('streamer', () => app.runtime.agent('helper'));
    assert.equal(helper.info().inFlight, 1, 'the stalled step is running');
    controller.abort();
    await until(() => helper.info().inFlight === 0); // the step ended when the client left (it never would, stalled)
    assert.equal(vendor.calls.length, before + 1, 'one model call, not retried');
    const info = (await (await fetch(`${base}/v1/agents/helper`, { headers: { authorization } })).json()) as {
      inFlight: number;
    };
    assert.equal(info.inFlight, 0);
  });
});
