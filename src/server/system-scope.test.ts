// The admin key without X-Agentfleet-Tenant works in the system scope, as the README says:
// it sees only agents without a tenant, and only their state deltas.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { createTestTenant, TEST_ADMIN_KEY } from '../../test/server-auth.ts';
import { loadServerConfig } from '../config/index.ts';
import { currentTenantId, withTenant } from '../context/index.ts';
import { defineAgent } from '../core/index.ts';
import { type RunningServer, startServer } from './start-server.ts';

const ADMIN = `Bearer ${TEST_ADMIN_KEY}`;
let app: RunningServer;
let base: string;

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies of many shapes
async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: ADMIN, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

before(async () => {
  app = await startServer(
    loadServerConfig({}, { port: 0, host: '127.0.0.1', logLevel: 'silent', adminKey: TEST_ADMIN_KEY }),
    pino({ level: 'silent' }),
  );
  base = `http://127.0.0.1:${app.port}`;
  const robot = defineAgent({ name: 'robot', decide: () => ({ tenant: currentTenantId() ?? null }) });
  app.runtime.register(robot);
  await createTestTenant(app, 'acme');
  await withTenant('acme', () => app.runtime.spawn(robot, { id: 'r1' }));
  await app.runtime.spawn(robot, { id: 'r1' }); // the system's own r1
});
after(() => app.shutdown());

describe('the admin in the system scope', () => {
  it('cannot reach a tenant agent by a tenant/id path', async () => {
    for (const [method, path, body] of [
      ['GET', '/v1/agents/acme%2Fr1', undefined],
      ['GET', '/v1/agents/acme%2Fr1/state', undefined],
      ['POST', '/v1/agents/acme%2Fr1/messages', { input: 1 }],
      ['POST', '/v1/agents/acme%2Fr1/stop', {}],
      ['DELETE', '/v1/agents/acme%2Fr1', undefined],
    ] as const) {
      const reply = await call(method, path, body);
      assert.equal(reply.status, 404, `${method} ${path}`);
      assert.equal(reply.body.error.code, 'AGENT_NOT_FOUND', `${method} ${path}`);
    }
    const chat = await call('POST', '/v1/chat/completions', {
      model: 'acme/r1',
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.equal(chat.status, 404);
    assert.equal(chat.body.error.code, 'AGENT_NOT_FOUND');
    const acme = await withTenant('acme', () => app.runtime.agent('r1').info());
    assert.equal(acme.state, 'running', "acme's agent was not touched");
    assert.equal(acme.handled, 0);
    assert.deepEqual((await call('POST', '/v1/agents/r1/messages', { input: 1 })).body, {
      output: { tenant: null },
    });
  });

  it("streams the system agent's deltas only, never a tenant's agent of the same id", async () => {
    const controller = new AbortController();
    const res = await fetch(`${base}/v1/agents/r1/state/stream`, {
      headers: { authorization: ADMIN },
      signal: controller.signal,
    });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = decoder.decode((await reader.read()).value); // ": connected"
    await withTenant('acme', () => app.state.setTags('r1', ['navigation']));
    await withTenant('acme', () => app.state.set('r1', { position: ['acme'] }));
    app.state.setTags('r1', ['navigation']);
    app.state.set('r1', { position: ['system'] });
    while (!text.includes('"system"')) text += decoder.decode((await reader.read()).value);
    controller.abort();
    assert.ok(!text.includes('acme'), `no delta of acme's r1 in the system stream:\n${text}`);
  });
});
