// DELETE /v1/tenants/:tenant runs the same cascade as the library (`TenantDeletion`): a tenant
// re-created with the same id reads nothing of the old one. Before, only the registry entry and
// the agents went; state, conversations and knowledge documents stayed, readable by the new tenant. Also the
// server's safe defaults: agents per tenant and the size of a schemaless config.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { TEST_ADMIN_KEY } from '../../test/server-auth.ts';
import { startVendorServer, type VendorServer } from '../../test/vendors/server.ts';
import { loadServerConfig } from '../config/index.ts';
import { defineAgent } from '../core/index.ts';
import type { Provider } from '../llm/index.ts';
import { llm } from '../llm-agent/index.ts';
import { createProvider } from '../models/index.ts';
import { type RunningServer, startServer } from './start-server.ts';

const ADMIN = `Bearer ${TEST_ADMIN_KEY}`;
let app: RunningServer;
let base: string;
let vendor: VendorServer;
let provider: Provider;

async function call(
  method: string,
  path: string,
  authorization?: string,
  body?: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies of many shapes
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (authorization !== undefined) headers.authorization = authorization;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function newTenant(id: string): Promise<string> {
  const created = await call('POST', '/v1/tenants', ADMIN, { id });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return `Bearer ${created.body.key}`;
}

before(async () => {
  vendor = await startVendorServer({ latencyMs: 1 });
  provider = createProvider('openai', { baseUrl: `${vendor.url}/v1`, apiKey: 'k' });
  app = await startServer(
    loadServerConfig(
      { AGENTFLEET_MAX_AGENTS_PER_TENANT: '3', AGENTFLEET_MAX_CONFIG_BYTES: '1000' },
      { port: 0, host: '127.0.0.1', logLevel: 'silent', adminKey: TEST_ADMIN_KEY },
    ),
    pino({ level: 'silent' }),
  );
  base = `http://127.0.0.1:${app.port}`;
  const cognition = llm({ provider, model: 'm' });
  app.runtime.register(
    defineAgent({
      name: 'chat',
      decide: cognition,
      // The reply shows how much conversation the agent remembers.
      act: async (answer, ctx) => ({
        text: answer.text,
        remembered: (await cognition.memory.history(ctx.agentId)).length,
      }),
    }),
  );
  app.runtime.register(defineAgent({ name: 'echo', decide: (x: unknown) => x }));
});
after(async () => {
  await app.shutdown();
  await provider.close();
  await vendor.close();
});

describe('DELETE /v1/tenants/:tenant', () => {
  it('deletes agents, state, conversations and keys; the same id re-created starts empty', async () => {
    const oldKey = await newTenant('reborn');
    assert.equal((await call('POST', '/v1/agents', oldKey, { definition: 'chat', id: 'bot' })).status, 201);
    const first = await call('POST', '/v1/agents/bot/messages', oldKey, { input: 'remember the code 1234' });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.output.remembered, 2);
    const patched = await call('PATCH', '/v1/agents/bot/state', oldKey, { values: { code: 1234 } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    const doc = { id: 'secret', text: 'The vault code is 1234.' };
    assert.equal((await call('POST', '/v1/knowledge/documents', oldKey, doc)).status, 200);
    const own = {
      name: 'vault',
      cognition: { type: 'rules', rules: [], otherwise: { decision: 'open', reason: 'code 1234' } },
    };
    const put = await call('PUT', '/v1/definitions/vault', oldKey, own);
    assert.equal(put.status, 201, JSON.stringify(put.body));

    const deleted = await call('DELETE', '/v1/tenants/reborn', ADMIN);
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    assert.deepEqual(deleted.body.purged, {
      keys: { revoked: 1 },
      groups: { groups: 0 },
      agents: { agents: 1 },
      state: { states: 1 },
      quotas: null,
      knowledge: { documents: 1 },
      rollouts: { rollouts: 0 },
      definitions: { definitions: 1 },
      runs: { runs: 0, approvals: 0, conversations: 0 },
      budgets: null,
    });
    assert.equal((await call('GET', '/v1/agents', oldKey)).status, 401, 'the old key is gone');
    assert.equal((await call('GET', '/v1/tenants/reborn', ADMIN)).status, 404);
    assert.equal((await call('DELETE', '/v1/tenants/reborn', ADMIN)).status, 404);

    const newKey = await newTenant('reborn');
    assert.deepEqual((await call('GET', '/v1/agents', newKey)).body.agents, []);
    assert.equal((await call('POST', '/v1/agents', newKey, { definition: 'chat', id: 'bot' })).status, 201);
    const state = await call('GET', '/v1/agents/bot/state', newKey);
    assert.equal(state.status, 404, JSON.stringify(state.body));
    const again = await call('POST', '/v1/agents/bot/messages', newKey, { input: 'what was the code?' });
    assert.equal(again.body.output.remembered, 2, 'only its own first turn: the old conversation is gone');
    const found = await call('POST', '/v1/knowledge/search', newKey, { query: 'vault code' });
    assert.deepEqual(found.body.passages, [], 'the old tenant’s documents are gone');
    assert.equal(
      (await call('GET', '/v1/definitions/vault', newKey)).status,
      404,
      'its definitions are gone',
    );
    const listed = (await call('GET', '/v1/definitions', newKey)).body.definitions;
    assert.ok(!listed.some((d: { name: string }) => d.name === 'vault'));
  });
});

describe('server defaults', () => {
  it('caps agents per tenant (AGENTFLEET_MAX_AGENTS_PER_TENANT) and schemaless config size (AGENTFLEET_MAX_CONFIG_BYTES)', async () => {
    const key = await newTenant('capped');
    for (let i = 0; i < 3; i++) {
      assert.equal((await call('POST', '/v1/agents', key, { definition: 'echo', start: false })).status, 201);
    }
    const refused = await call('POST', '/v1/agents', key, { definition: 'echo', start: false });
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error.details.quota, 'maxAgents');
    assert.equal(refused.body.error.details.limit, 3);
    // An operator raises it per tenant.
    await call('PATCH', '/v1/tenants/capped', ADMIN, { quotas: { maxAgents: 4 } });
    assert.equal((await call('POST', '/v1/agents', key, { definition: 'echo', start: false })).status, 201);

    const other = await newTenant('configs');
    const small = await call('POST', '/v1/agents', other, {
      definition: 'echo',
      config: { note: 'x'.repeat(900) },
    });
    assert.equal(small.status, 201);
    const large = await call('POST', '/v1/agents', other, {
      definition: 'echo',
      config: { note: 'x'.repeat(1_000) },
    });
    assert.equal(large.status, 400);
    assert.equal(large.body.error.code, 'INVALID_INPUT');
    assert.match(large.body.error.message, /over the 1000-byte limit/);
  });
});
