// Authentication, tenant isolation and quotas through the HTTP API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { TEST_ADMIN_KEY } from '../../test/server-auth.ts';
import { loadServerConfig } from '../config/index.ts';
import { currentTenantId } from '../context/index.ts';
import { defineAgent } from '../core/index.ts';
import { type RunningServer, startServer } from './start-server.ts';

const ADMIN = `Bearer ${TEST_ADMIN_KEY}`;
let app: RunningServer;
let base: string;

async function call(
  method: string,
  path: string,
  authorization?: string,
  body?: unknown,
  headers = {},
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies of many shapes
): Promise<{ status: number; headers: Headers; body: any }> {
  const all: Record<string, string> = { ...headers };
  if (authorization !== undefined) all.authorization = authorization;
  if (body !== undefined) all['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, {
    method,
    headers: all,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

async function newTenant(id: string, quotas?: Record<string, number>): Promise<string> {
  const created = await call('POST', '/v1/tenants', ADMIN, { id, quotas });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.match(created.body.key, /^af_/);
  assert.equal(created.body.keyRecord.hash, undefined, 'the hash is never shown');
  return `Bearer ${created.body.key}`;
}

before(async () => {
  app = await startServer(
    loadServerConfig({}, { port: 0, host: '127.0.0.1', logLevel: 'silent', adminKey: TEST_ADMIN_KEY }),
    pino({ level: 'silent' }),
  );
  base = `http://127.0.0.1:${app.port}`;
  app.runtime.register(
    defineAgent({ name: 'whoami', decide: async () => ({ tenant: currentTenantId() ?? null }) }),
  );
});
after(() => app.shutdown());

describe('authentication', () => {
  it('answers 401 with WWW-Authenticate for missing, malformed and unknown keys', async () => {
    for (const auth of [
      undefined,
      'Bearer nope',
      'Basic abc',
      `Bearer af_0123456789abcdef_${'x'.repeat(43)}`,
    ]) {
      const reply = await call('GET', '/v1/agents', auth);
      assert.equal(reply.status, 401, String(auth));
      assert.equal(reply.body.error.code, 'UNAUTHENTICATED');
      assert.equal(reply.headers.get('www-authenticate'), 'Bearer');
    }
    assert.equal((await call('GET', '/healthz')).status, 200, 'probes stay public');
    assert.equal((await call('GET', '/act')).status, 401, '/act is not public unless configured');
  });

  it('keeps admin routes from tenant keys (403) and checks admin input (400, 404, 409)', async () => {
    const key = await newTenant('plain');
    assert.equal((await call('GET', '/v1/tenants', key)).body.error.code, 'FORBIDDEN');
    assert.equal((await call('POST', '/v1/tenants', ADMIN, { id: 'bad id' })).status, 400);
    assert.equal((await call('POST', '/v1/tenants', ADMIN, { id: 'plain' })).status, 409);
    assert.equal((await call('GET', '/v1/tenants/nobody', ADMIN)).status, 404);
    assert.equal(
      (await call('PATCH', '/v1/tenants/plain', ADMIN, { quotas: { maxAgents: -3 } })).status,
      400,
    );
  });

  it('revoking a key or disabling a tenant locks it out at once', async () => {
    const key = await newTenant('revocable');
    assert.equal((await call('GET', '/v1/agents', key)).status, 200);
    const keys = await call('GET', '/v1/tenants/revocable/keys', ADMIN);
    const second = await call('POST', '/v1/tenants/revocable/keys', ADMIN, { name: 'second' });
    assert.equal(second.status, 201);
    const keyId = keys.body.keys[0].id;
    assert.equal((await call('DELETE', `/v1/tenants/revocable/keys/${keyId}`, ADMIN)).status, 200);
    assert.equal((await call('GET', '/v1/agents', key)).status, 401);
    assert.equal((await call('GET', '/v1/agents', `Bearer ${second.body.key}`)).status, 200);
    await call('PATCH', '/v1/tenants/revocable', ADMIN, { disabled: true });
    const disabled = await call('GET', '/v1/agents', `Bearer ${second.body.key}`);
    assert.equal(disabled.status, 403);
    assert.equal(disabled.body.error.code, 'TENANT_DISABLED');
  });
});

describe('tenant isolation over HTTP', () => {
  it("another tenant's agent is a 404, never listed, never messaged, never deleted", async () => {
    const acme = await newTenant('acme');
    const globex = await newTenant('globex');
    assert.equal((await call('POST', '/v1/agents', acme, { definition: 'whoami', id: 'bot' })).status, 201);
    assert.equal((await call('POST', '/v1/agents', globex, { definition: 'whoami', id: 'bot' })).status, 201);
    assert.equal(
      (await call('POST', '/v1/agents', acme, { definition: 'whoami', id: 'acme-only' })).status,
      201,
    );
    const mine = await call('POST', '/v1/agents/bot/messages', acme, { input: 1 });
    assert.deepEqual(mine.body, { output: { tenant: 'acme' } });
    const theirs = await call('POST', '/v1/agents/bot/messages', globex, { input: 1 });
    assert.deepEqual(theirs.body, { output: { tenant: 'globex' } });
    for (const [method, path] of [
      ['GET', '/v1/agents/acme-only'],
      ['POST', '/v1/agents/acme-only/messages'],
      ['POST', '/v1/agents/acme-only/stop'],
      ['DELETE', '/v1/agents/acme-only'],
    ] as const) {
      const reply = await call(method, path, globex, method === 'POST' ? { input: 1 } : undefined);
      assert.equal(reply.status, 404, `${method} ${path}`);
      assert.equal(reply.body.error.code, 'AGENT_NOT_FOUND');
    }
    const listed = await call('GET', '/v1/agents', globex);
    assert.deepEqual(
      listed.body.agents.map((a: { id: string; tenant: string }) => `${a.tenant}/${a.id}`),
      ['globex/bot'],
    );
    const stats = await call('GET', '/v1/stats', globex);
    const { spend, ...usage } = stats.body;
    assert.deepEqual(usage, { tenant: 'globex', agents: 1, inFlight: 0 });
    assert.equal(spend.tokens, 0, 'its model spending (none yet)');
    assert.equal((await call('GET', '/v1/agents/acme-only', acme)).status, 200, 'still there for its owner');
  });

  it('the admin can act as a tenant with X-Agentfleet-Tenant', async () => {
    await newTenant('managed');
    const made = await call(
      'POST',
      '/v1/agents',
      ADMIN,
      { definition: 'whoami', id: 'm1' },
      { 'x-agentfleet-tenant': 'managed' },
    );
    assert.equal(made.body.tenant, 'managed');
    assert.equal(
      (await call('GET', '/v1/agents/m1', ADMIN)).status,
      404,
      'the admin alone is the system scope',
    );
    const bad = await call('GET', '/v1/agents', ADMIN, undefined, { 'x-agentfleet-tenant': 'no/such' });
    assert.equal(bad.body.error.code, 'INVALID_TENANT_ID');
  });

  it('deleting a tenant removes its agents', async () => {
    const key = await newTenant('leaving');
    await call('POST', '/v1/agents', key, { definition: 'whoami', id: 'a' });
    await call('POST', '/v1/agents', key, { definition: 'whoami', id: 'b' });
    const deleted = await call('DELETE', '/v1/tenants/leaving', ADMIN);
    assert.equal(deleted.body.deleted, 'leaving');
    assert.equal(deleted.body.agentsRemoved, 2);
    assert.deepEqual(deleted.body.purged.agents, { agents: 2 });
    assert.equal((await call('GET', '/v1/agents', key)).status, 401);
    assert.deepEqual(app.runtime.tenantUsage('leaving'), { agents: 0, inFlight: 0 });
  });
});

describe('quotas over HTTP', () => {
  it('max agents: 429 QUOTA_EXCEEDED with Retry-After', async () => {
    const key = await newTenant('two-agents', { maxAgents: 2 });
    await call('POST', '/v1/agents', key, { definition: 'whoami', id: 'a' });
    await call('POST', '/v1/agents', key, { definition: 'whoami', id: 'b' });
    const refused = await call('POST', '/v1/agents', key, { definition: 'whoami', id: 'c' });
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error.code, 'QUOTA_EXCEEDED');
    assert.equal(refused.body.error.details.quota, 'maxAgents');
    assert.equal(refused.headers.get('retry-after'), '1');
  });

  it('requests per period: the window refuses with the seconds until it has room', async () => {
    const key = await newTenant('slow-lane', { requestsPerPeriod: 3, periodSeconds: 30 });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await call('GET', '/v1/agents', key)).status);
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    const refused = await call('GET', '/v1/agents', key);
    assert.equal(refused.body.error.details.quota, 'requestsPerPeriod');
    assert.ok(Number(refused.headers.get('retry-after')) >= 29);
    assert.equal(
      (await call('GET', '/v1/agents', await newTenant('other-lane'))).status,
      200,
      'other tenants unaffected',
    );
  });

  it('a quota change through the admin API applies at once', async () => {
    const key = await newTenant('grows', { maxAgents: 0 });
    assert.equal((await call('POST', '/v1/agents', key, { definition: 'whoami' })).status, 429);
    await call('PATCH', '/v1/tenants/grows', ADMIN, { quotas: { maxAgents: 1 } });
    assert.equal((await call('POST', '/v1/agents', key, { definition: 'whoami' })).status, 201);
  });
});

describe('public /act', () => {
  it('answers without a key only when configured', async () => {
    const open = await startServer(
      loadServerConfig(
        { AGENTFLEET_PUBLIC_ACT: 'true' },
        { port: 0, host: '127.0.0.1', logLevel: 'silent', adminKey: TEST_ADMIN_KEY },
      ),
      pino({ level: 'silent' }),
    );
    const res = await fetch(`http://127.0.0.1:${open.port}/act`, { headers: { 'x-trusted': 'true' } });
    assert.equal(((await res.json()) as { status: string }).status, 'EXECUTED');
    assert.equal((await fetch(`http://127.0.0.1:${open.port}/v1/agents`)).status, 401, 'only /act is public');
    const badKey = await fetch(`http://127.0.0.1:${open.port}/act`, {
      headers: { authorization: 'Bearer nope' },
    });
    assert.equal(badKey.status, 401, 'a key that is sent is still checked');
    await open.shutdown();
  });
});
