// The autoscaler on a started server, from its config: a policy resizes the worker pool, one an
// agent group the admin opened, one only exports a desired replica count for Kubernetes;
// GET /v1/autoscaler shows each policy's state and history; /metrics shows the decisions and
// sizes; a bad policy fails the start naming the field.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { jsonCaller } from '../../test/json-call.ts';
import { TEST_ADMIN_KEY } from '../../test/server-auth.ts';
import { loadServerConfig } from '../config/index.ts';
import { type RunningServer, startServer } from './start-server.ts';

const ADMIN = `Bearer ${TEST_ADMIN_KEY}`;
let app: RunningServer;
let base: string;

const always = { all: [{ metric: 'pool.capacity', op: '>=', value: 1 }] };
const POLICIES = [
  {
    name: 'pool',
    actuator: 'pool',
    min: 2,
    max: 4,
    cooldownMs: 0,
    scaleDownStabilizationMs: 0,
    rules: [{ name: 'grow', when: always, action: { type: 'step', change: 1 } }],
  },
  {
    name: 'team',
    actuator: 'group:team',
    min: 1,
    max: 3,
    cooldownMs: 0,
    rules: [{ name: 'grow', when: always, action: { type: 'step', change: 1 } }],
  },
  {
    name: 'fleet',
    actuator: 'kubernetes',
    min: 2,
    max: 10,
    cooldownMs: 0,
    target: { metric: 'agents.running', target: 1 },
  },
];

const call = jsonCaller(() => base);

async function until(condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200 && !(await condition()); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(await condition(), 'condition not met in 10 s');
}

before(async () => {
  app = await startServer(
    loadServerConfig(
      { AGENTFLEET_AUTOSCALE_POLICIES: JSON.stringify(POLICIES), AGENTFLEET_AUTOSCALE_TICK_MS: '100' },
      { port: 0, host: '127.0.0.1', logLevel: 'silent', adminKey: TEST_ADMIN_KEY },
    ),
    pino({ level: 'silent' }),
  );
  base = `http://127.0.0.1:${app.port}`;
});
after(async () => {
  await app.shutdown();
});

describe('the autoscaler on a server', () => {
  it('resizes the pool and a group, exports a desired count, and shows every decision', async () => {
    const opened = await call('POST', '/v1/groups', ADMIN, { id: 'team', definition: 'act' });
    assert.equal(opened.status, 201, JSON.stringify(opened.body));
    const policy = async (name: string) =>
      (await call('GET', '/v1/autoscaler', ADMIN)).body.policies.find(
        (p: { policy: string }) => p.policy === name,
      );
    await until(async () => (await policy('pool'))?.current === 4 && (await policy('team'))?.current === 3);
    assert.equal((await call('GET', '/v1/groups/team', ADMIN)).body.size, 3);
    const pool = await policy('pool');
    assert.ok(
      pool.history.some((d: { kind: string; rule?: string }) => d.kind === 'scale'),
      JSON.stringify(pool.history),
    );
    const metrics = await fetch(`${base}/metrics`, { headers: { authorization: ADMIN } }).then((r) =>
      r.text(),
    );
    assert.match(metrics, /agentfleet_autoscaler_decisions_total\{policy="pool",kind="scale"\} \d+/);
    assert.match(metrics, /agentfleet_autoscaler_current_replicas\{policy="pool"\} 4/);
    assert.match(metrics, /agentfleet_autoscaler_desired_replicas\{policy="fleet"\} \d+/);
    const tenant = (await call('POST', '/v1/tenants', ADMIN, { id: 'acme' })).body.key;
    assert.equal((await call('GET', '/v1/autoscaler', `Bearer ${tenant}`)).status, 403, 'admin only');
  });

  it('a bad policy fails the start, naming the field', async () => {
    const bad = [{ ...POLICIES[0], min: 5, max: 2 }];
    assert.throws(
      () => loadServerConfig({ AGENTFLEET_AUTOSCALE_POLICIES: JSON.stringify(bad) }, { logLevel: 'silent' }),
      (error: { code?: string; message: string }) =>
        error.code === 'CONFIG_INVALID' && /autoscalePolicies/.test(error.message),
    );
    const unknown = [{ ...POLICIES[0], actuator: 'nowhere' }];
    await assert.rejects(
      startServer(
        loadServerConfig(
          { AGENTFLEET_AUTOSCALE_POLICIES: JSON.stringify(unknown) },
          { port: 0, host: '127.0.0.1', logLevel: 'silent', adminKey: TEST_ADMIN_KEY },
        ),
        pino({ level: 'silent' }),
      ),
      { code: 'AUTOSCALE_POLICY_INVALID' },
    );
  });
});
