// Issue 16's "done when": from nothing but files, an operator's own LLM agent with tools and
// knowledge, reachable over HTTP, the OpenAI-compatible endpoint and NATS. The real CLI runs as a
// child process over a temp folder holding `agentfleet.yaml` and `agents/helper.yaml`; the model
// is the vendor test server (its `parallel` scenario calls both tools, then answers with their
// results); the `http` tool calls a tiny local server that records what it saw.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import OpenAI from 'openai';
import { startVendorServer, type VendorServer } from '../vendors/server.ts';
import { NATS_URL, serverSkipReason } from './servers.ts';

const skip = await serverSkipReason('NATS', 4222);
const NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const ADMIN_KEY = 'journey-admin-key-0123456789';
const PASSAGE = 'The vault code is 7731, per section x of the handbook.';
const WEATHER = 'sunny-4242';

describe('operator journey: files to an agent on HTTP, OpenAI and NATS', { skip }, () => {
  let dir: string;
  let vendor: VendorServer;
  let tool: Server;
  const toolCalls: string[] = [];
  let child: ChildProcess;
  let stdout = '';
  let stderr = '';
  let base: string;
  let nc: NatsConnection;
  let authorization: string;
  // Also this node's front-door queue group: other nodes on the shared broker (other test runs)
  // serve other agents, and must not be handed this node's requests.
  const tenant = `op${Date.now().toString(36)}`;
  // One agent per channel: an agent remembers its conversation, and the vendor's scenario
  // answers without calling tools once the history holds tool results.
  const agents = { http: 'helper-http', openai: 'helper-openai', nats: 'helper-nats' };

  const call = async (
    method: string,
    path: string,
    auth: string,
    body?: unknown,
    // biome-ignore lint/suspicious/noExplicitAny: JSON bodies of many shapes
  ): Promise<{ status: number; body: any }> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  before(async () => {
    vendor = await startVendorServer();
    tool = createServer((req, res) => {
      toolCalls.push(`${req.method} ${req.url}`);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ forecast: WEATHER }));
    });
    await new Promise<void>((resolve) => tool.listen(0, '127.0.0.1', resolve));
    const toolUrl = `http://127.0.0.1:${(tool.address() as AddressInfo).port}/weather`;

    dir = await mkdtemp(join(tmpdir(), 'af-journey-'));
    await mkdir(join(dir, 'agents'));
    await writeFile(
      join(dir, 'agents', 'helper.yaml'),
      `name: helper
description: Answers from the tenant's documents and the weather service.
cognition:
  type: llm
  model: openai/gpt-journey
  system: Search the knowledge first and cite passages.
  maxSteps: 4
tools:
  - type: knowledge-search
  - type: http
    name: weather
    description: Today's forecast for a city.
    url: ${toolUrl}
    parameters:
      type: object
      properties:
        city: { type: string }
      required: [city]
knowledge:
  k: 3
`,
    );
    await writeFile(
      join(dir, 'agentfleet.yaml'),
      `server:
  port: 0
  host: 127.0.0.1
  logLevel: info
tenants:
  auth: keys
  adminKey: ${ADMIN_KEY}
bus:
  url: nats://${NATS_URL.replace(/^nats:\/\//, '')}
  frontDoorQueue: ${tenant}
models:
  providers:
    openai:
      baseUrl: ${vendor.url}/v1
`,
    );
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env))
      if (v !== undefined && !k.startsWith('AGENTFLEET_') && !k.startsWith('OTEL_')) env[k] = v;
    env.OPENAI_API_KEY = 'journey-vendor-key';
    child = spawn(NODE, [CLI, 'serve', '--config', 'agentfleet.yaml'], { cwd: dir, env });
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const deadline = Date.now() + 30_000;
    let port: number | undefined;
    while (port === undefined) {
      assert.ok(child.exitCode === null, `the CLI exited early: ${stdout}\n${stderr}`);
      assert.ok(Date.now() < deadline, `no listening line: ${stdout}\n${stderr}`);
      const line = stdout.split('\n').find((l) => l.includes('agentfleet listening'));
      if (line !== undefined) port = JSON.parse(line).port;
      else await new Promise((r) => setTimeout(r, 50));
    }
    base = `http://127.0.0.1:${port}`;
    for (;;) {
      const ready = await fetch(`${base}/readyz`).catch(() => undefined);
      if (ready?.status === 200) break;
      assert.ok(Date.now() < deadline, `never ready: ${stdout}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const created = await call('POST', '/v1/tenants', `Bearer ${ADMIN_KEY}`, { id: tenant });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    authorization = `Bearer ${created.body.key}`;
    const doc = await call('POST', '/v1/knowledge/documents', authorization, { id: 'vault', text: PASSAGE });
    assert.ok(doc.status === 200 || doc.status === 201, JSON.stringify(doc.body));
    for (const id of Object.values(agents)) {
      const agent = await call('POST', '/v1/agents', authorization, { definition: 'helper', id });
      assert.equal(agent.status, 201, JSON.stringify(agent.body));
    }
    nc = await connect({ servers: NATS_URL });
  });

  after(async () => {
    await nc?.close();
    if (child?.exitCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    await new Promise<void>((resolve) => tool?.close(() => resolve()));
    await vendor?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const assertToolsRan = (answer: string, callsBefore: number) => {
    assert.ok(answer.includes('7731'), `the answer cites the passage: ${answer}`);
    assert.ok(answer.includes('vault#'), `the passage is cited by id: ${answer}`);
    assert.ok(answer.includes(WEATHER), `the answer carries the http tool's result: ${answer}`);
    assert.equal(toolCalls.length, callsBefore + 1, 'the http tool called the local server once');
    assert.match(toolCalls.at(-1)!, /^GET \/weather\?city=x$/);
  };

  it('answers over POST /v1/agents/:id/messages, running both tools', async () => {
    const before = toolCalls.length;
    const res = await call('POST', `/v1/agents/${agents.http}/messages`, authorization, {
      input: 'scenario:parallel what is the vault code, and the weather?',
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assertToolsRan(JSON.stringify(res.body.output), before);
    const modelCalls = vendor.calls.filter((c) => c.path.endsWith('/chat/completions'));
    assert.ok(modelCalls.length >= 2, 'a tool round, then the answer');
    assert.equal(modelCalls.at(-1)!.headers.authorization, 'Bearer journey-vendor-key');
    assert.equal(modelCalls.at(-1)!.body.model, 'gpt-journey');
  });

  it('answers the official openai client on /v1/chat/completions', async () => {
    const before = toolCalls.length;
    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: authorization.slice('Bearer '.length) });
    const completion = await client.chat.completions.create({
      model: agents.openai,
      messages: [{ role: 'user', content: 'scenario:parallel the vault code again, and the weather' }],
    });
    assertToolsRan(completion.choices[0]?.message.content ?? '', before);
  });

  it('answers a plain NATS request on agent.<tenant>.<id>.inbox', async () => {
    const before = toolCalls.length;
    const reply = await nc.request(
      `agent.${tenant}.${agents.nats}.inbox`,
      JSON.stringify({ input: 'scenario:parallel over the bus: the vault code and the weather' }),
      { timeout: 15_000 },
    );
    const text = new TextDecoder().decode(reply.data);
    // A plain client gets plain JSON back: `{ output }`, and no error header.
    assert.equal(reply.headers?.get('agentfleet-error') ?? '', '', text);
    const body = JSON.parse(text) as { output?: unknown; error?: unknown };
    assert.equal(body.error, undefined, text);
    assertToolsRan(JSON.stringify(body.output), before);
  });

  it('stops on SIGTERM with exit code 0', async () => {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code, signal] = await exited;
    assert.equal(signal, null, stderr);
    assert.equal(code, 0, `${stdout}\n${stderr}`);
  });
});
