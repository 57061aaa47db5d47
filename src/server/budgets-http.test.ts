// Budgets through the server: a tenant's budget (its quotas) and an agent's (its spec) refuse a
// model call with 429 BUDGET_EXCEEDED and Retry-After; spending shows in GET /v1/stats and the
// admin's tenant view; a budget of the wrong shape is refused and the old one stays.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { scriptedProvider } from '../../test/scripted-provider.ts';
import { TEST_ADMIN_KEY } from '../../test/server-auth.ts';
import { loadServerConfig } from '../config/index.ts';
import { type RunningServer, startServer } from './index.ts';

const ADMIN = `Bearer ${TEST_ADMIN_KEY}`;

describe('token and cost budgets over HTTP', () => {
  let app: RunningServer;
  let base: string;
  const provider = scriptedProvider(() => ({ text: 'ok' })); // 10 input + 5 output tokens a call

  async function call(method: string, path: string, authorization: string, body?: unknown) {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    // biome-ignore lint/suspicious/noExplicitAny: JSON bodies of many shapes
    return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as any };
  }

  async function tenant(id: string, quotas: object): Promise<string> {
    const made = await call('POST', '/v1/tenants', ADMIN, { id, quotas });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    return `Bearer ${made.body.key}`;
  }

  async function agent(key: string, spec: object, id: string): Promise<void> {
    const put = await call('PUT', `/v1/definitions/${id}-def`, key, {
      name: `${id}-def`,
      cognition: { type: 'llm', model: 'scripted/m', maxTokens: 20 },
      durable: false,
      ...spec,
    });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    const made = await call('POST', '/v1/agents', key, { definition: `${id}-def`, id });
    assert.equal(made.status, 201, JSON.stringify(made.body));
  }

  const send = (key: string, id: string) => call('POST', `/v1/agents/${id}/messages`, key, { input: 'hi' });

  before(async () => {
    app = await startServer(
      loadServerConfig(
        {},
        {
          port: 0,
          host: '127.0.0.1',
          logLevel: 'silent',
          adminKey: TEST_ADMIN_KEY,
          models: {
            providers: {},
            prices: { 'scripted/m': { inputPerMillion: 1_000, outputPerMillion: 2_000 } },
          },
        },
      ),
      pino({ level: 'silent' }),
    );
    app.node.models.add(provider);
    base = `http://127.0.0.1:${app.port}`;
  });
  after(async () => {
    await app.shutdown();
  });

  it('refuses a tenant’s call past its tokens with 429 BUDGET_EXCEEDED and Retry-After', async () => {
    // Each call reserves ≈ 1 + 20 tokens and spends 15.
    const key = await tenant('acme', { budget: { tokensPerPeriod: 40, periodSeconds: 3_600 } });
    await agent(key, {}, 'bot');
    assert.equal((await send(key, 'bot')).status, 200);
    assert.equal((await send(key, 'bot')).status, 200);
    const refused = await send(key, 'bot');
    assert.equal(refused.status, 429, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'BUDGET_EXCEEDED');
    assert.equal(refused.body.error.details.scope, 'tenant');
    assert.equal(refused.body.error.details.limit, 'tokens');
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 3_600, `Retry-After ${retryAfter}`);
    assert.equal(retryAfter, refused.body.error.details.retryAfterSeconds);
    assert.match(refused.body.error.message, /resets at \d{4}-\d\d-\d\dT/);
    // The tenant's figures: what it spent, and its budget.
    const stats = await call('GET', '/v1/stats', key);
    assert.equal(stats.body.spend.tokens, 30);
    assert.equal(stats.body.spend.cost, (20 * 1_000 + 10 * 2_000) / 1e6);
    assert.equal(stats.body.spend.periodSeconds, 3_600);
    assert.equal(stats.body.spend.resetsAt % 3_600_000, 0);
    assert.deepEqual(stats.body.spend.budget, { tokensPerPeriod: 40, periodSeconds: 3_600 });
    const view = await call('GET', '/v1/tenants/acme', ADMIN);
    assert.equal(view.body.spend.tokens, 30);
    // Spending and refusals are metrics.
    const metrics = await (await fetch(`${base}/metrics`, { headers: { authorization: ADMIN } })).text();
    assert.match(metrics, /agentfleet_budget_spent_tokens_total\{model="scripted\/m"\} 30/);
    assert.match(metrics, /agentfleet_budget_spent_cost_total\{model="scripted\/m"\} 0\.04/);
    assert.match(metrics, /agentfleet_budget_refused_total\{scope="tenant",limit="tokens"\} 1/);
  });

  it('refuses an agent’s call past its spec’s budget; the tenant’s other agents go on', async () => {
    const key = await tenant('globex', { budget: { costPerPeriod: 1 } });
    await agent(key, { budget: { tokensPerPeriod: 25 } }, 'small');
    await agent(key, {}, 'big');
    assert.equal((await send(key, 'small')).status, 200);
    const refused = await send(key, 'small');
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error.code, 'BUDGET_EXCEEDED');
    assert.equal(refused.body.error.details.scope, 'agent');
    assert.equal(refused.body.error.details.agentId, 'small');
    assert.equal((await send(key, 'big')).status, 200);
  });

  it('refuses a budget of the wrong shape in quotas or a spec, and keeps the old one', async () => {
    const key = await tenant('initech', { budget: { tokensPerPeriod: 1_000 } });
    for (const budget of [{}, { tokensPerPeriod: -5 }, { tokensPerPeriod: 10, periodSeconds: 0 }, 'lots']) {
      const patched = await call('PATCH', '/v1/tenants/initech', ADMIN, { quotas: { budget } });
      assert.equal(patched.status, 400, JSON.stringify(patched.body));
      assert.equal(patched.body.error.code, 'INVALID_OPTIONS');
      const made = await call('POST', '/v1/tenants', ADMIN, { id: 'other', quotas: { budget } });
      assert.equal(made.status, 400);
      const put = await call('PUT', '/v1/definitions/bad', key, {
        name: 'bad',
        cognition: { type: 'llm', model: 'scripted/m' },
        budget,
      });
      assert.equal(put.status, 400, JSON.stringify(put.body));
      assert.equal(put.body.error.code, 'SPEC_INVALID');
    }
    const view = await call('GET', '/v1/tenants/initech', ADMIN);
    assert.deepEqual(view.body.tenant.quotas.budget, { tokensPerPeriod: 1_000, periodSeconds: 86_400 });
    assert.equal((await call('GET', '/v1/definitions/bad', key)).status, 404);
  });
});
