// The OpenAI-compatible endpoint, driven by the official `openai` client.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
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

describe('POST /v1/chat/completions with the openai client', () => {
  let vendor: VendorServer;
  let provider: Provider;
  let app: RunningServer;
  let client: OpenAI;
  before(async () => {
    vendor = await startVendorServer();
    provider = createProvider('openai', { baseUrl: `${vendor.url}/v1`, apiKey: 'k' });
    app = await startServer(
      loadServerConfig({}, { port: 0, host: '127.0.0.1', logLevel: 'silent' }),
      pino({ level: 'silent' }),
    );
    const lookup = defineTool({
      name: 'lookup',
      description: 'Look up',
      parameters: z.object({ key: z.string() }),
      execute: ({ key }) => `value of ${key}`,
    });
    app.runtime.register(
      defineAgent({ name: 'assistant', decide: llm({ provider, model: 'm', tools: [lookup] }) }),
    );
    app.runtime.register(defineAgent({ name: 'plain', decide: (input: string) => `plain: ${input}` }));
    const tenant = await createTestTenant(app, 'chat');
    await withTenant(tenant.id, async () => {
      await app.runtime.spawn('assistant', { id: 'helper' });
      await app.runtime.spawn('plain', { id: 'rules' });
    });
    // The tenant's API key is the OpenAI client's apiKey: it is sent as a Bearer token.
    client = new OpenAI({ baseURL: `http://127.0.0.1:${app.port}/v1`, apiKey: tenant.key, maxRetries: 0 });
  });
  after(async () => {
    await app.shutdown();
    await provider.close();
    await vendor.close();
  });

  it('answers a completion: model is the agent id, the last user message its input', async () => {
    const completion = await client.chat.completions.create({
      model: 'helper',
      messages: [
        { role: 'system', content: 'ignored by the agent, which has its own' },
        { role: 'user', content: 'scenario:tool find' },
      ],
    });
    assert.equal(completion.object, 'chat.completion');
    assert.equal(completion.choices[0]?.message.content, 'done: value of x');
    assert.equal(completion.choices[0]?.finish_reason, 'stop');
    assert.ok((completion.usage?.prompt_tokens ?? 0) > 0, 'usage summed over the steps');
    const plain = await client.chat.completions.create({
      model: 'rules',
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.equal(plain.choices[0]?.message.content, 'plain: hi');
  });

  it('streams chunks the client reassembles, with usage when asked', async () => {
    const stream = await client.chat.completions.create({
      model: 'helper',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'stream this' }] }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let chunks = 0;
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, 'echo: stream this');
    assert.ok(chunks > 4);
    assert.ok((usage?.completion_tokens ?? 0) > 0);
  });

  it('an unknown agent is a 404 and a bad body a 400, as typed errors the client raises', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'nobody', messages: [{ role: 'user', content: 'x' }] }),
      (e: unknown) => e instanceof OpenAI.NotFoundError,
    );
    await assert.rejects(
      client.chat.completions.create({ model: 'helper', messages: [] }),
      (e: unknown) => e instanceof OpenAI.BadRequestError,
    );
    await assert.rejects(
      client.chat.completions.create({
        model: 'helper',
        messages: [{ role: 'assistant', content: 'no user' }],
      }),
      (e: unknown) => e instanceof OpenAI.BadRequestError,
    );
  });

  it('a failure mid-stream reaches the client as an error', async () => {
    const stream = await client.chat.completions.create({
      model: 'helper',
      messages: [{ role: 'user', content: 'scenario:server' }],
      stream: true,
    });
    const received: string[] = [];
    await assert.rejects(
      async () => {
        for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? '');
      },
      (e: unknown) => {
        // the client raises the error object the endpoint wrote into the stream
        assert.ok(e instanceof OpenAI.APIError, `an APIError, got ${String(e)}`);
        const error = e.error as { type?: string; code?: string; message?: string } | undefined;
        assert.equal(error?.type, 'agent_error');
        assert.equal(error?.code, 'AGENT_STEP_FAILED');
        // the vendor's own words survive the hops: vendor → provider → agent → endpoint → client
        assert.match(e.message, /HTTP 500: The server had an error while processing your request/);
        return true;
      },
    );
    assert.deepEqual(received, [''], 'the role chunk came first; no answer text');
  });
});
