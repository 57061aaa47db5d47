// Canary rollouts over real HTTP on a started server: a tenant rolls its definition from one
// version to another and it is promoted; a failing version is rolled back with the reason; bad
// input gets typed errors; another tenant sees none of it; the admin rolls the node's own specs.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { jsonCaller } from '../../test/json-call.ts';
import { TEST_ADMIN_KEY } from '../../test/server-auth.ts';
import { runRolloutCommand } from '../cli/index.ts';
import { loadServerConfig } from '../config/index.ts';
import { type RunningServer, startServer } from './start-server.ts';

const ADMIN = `Bearer ${TEST_ADMIN_KEY}`;
let app: RunningServer;
let base: string;
let alice: string;
let bob: string;
let dir: string;

const call = jsonCaller(() => base);

const rules = (name: string, answer: string, version?: string) => ({
  name,
  ...(version === undefined ? {} : { version }),
  cognition: { type: 'rules', rules: [], otherwise: { decision: answer, reason: 'always' } },
});

/** Sends one message to each agent, as many rounds as it takes for `done` (at most 60 rounds). */
async function traffic(key: string, ids: string[], done: () => Promise<boolean>): Promise<void> {
  for (let round = 0; round < 60 && !(await done()); round++) {
    await Promise.all(ids.map((id) => call('POST', `/v1/agents/${id}/messages`, key, { input: 'hi' })));
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'af-rollout-http-'));
  await writeFile(join(dir, 'greeter.json'), JSON.stringify(rules('greeter', 'hello', 'one')));
  app = await startServer(
    loadServerConfig(
      { AGENTFLEET_AGENTS: dir },
      { port: 0, host: '127.0.0.1', logLevel: 'silent', adminKey: TEST_ADMIN_KEY },
    ),
    pino({ level: 'silent' }),
  );
  base = `http://127.0.0.1:${app.port}`;
  const tenant = async (id: string) =>
    `Bearer ${(await call('POST', '/v1/tenants', ADMIN, { id })).body.key}`;
  alice = await tenant('alice');
  bob = await tenant('bob');
});
after(async () => {
  await app.shutdown();
  await rm(dir, { recursive: true, force: true });
});

describe('rollouts over HTTP', () => {
  it('moves a definition in steps to the new version and promotes it; the CLI reads its status', async () => {
    assert.equal((await call('PUT', '/v1/definitions/bot', alice, rules('bot', 'a', 'blue'))).status, 201);
    const staged = await call('POST', '/v1/definitions/bot/versions', alice, rules('bot', 'b', 'green'));
    assert.equal(staged.status, 201);
    const ids = Array.from({ length: 20 }, (_, i) => `bot-${i}`);
    for (const id of ids) await call('POST', '/v1/agents', alice, { definition: 'bot', id });
    const started = await call('POST', '/v1/definitions/bot/rollout', alice, {
      to: 'green',
      steps: [50, 100],
      holdMs: 200,
      gates: { minSamples: 5 },
    });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    assert.equal(started.body.status, 'running');
    assert.equal(started.body.percent, 50);
    assert.match(started.body.to, /^green@/);
    const status = async () => (await call('GET', '/v1/definitions/bot/rollout', alice)).body;
    await traffic(alice, ids, async () => (await status()).status === 'promoted');
    const done = await status();
    assert.equal(done.status, 'promoted', JSON.stringify(done.history));
    assert.deepEqual(
      done.history.map((d: { decision: string }) => d.decision),
      ['start', 'advance', 'promote'],
    );
    const versions = (await call('GET', '/v1/definitions/bot/versions', alice)).body.versions;
    assert.equal(versions.find((v: { current: boolean }) => v.current).label, 'green');
    const answer = await call('POST', '/v1/agents/bot-0/messages', alice, { input: {} });
    assert.equal(answer.body.output.value, 'b');
    const metrics = await fetch(`${base}/metrics`, { headers: { authorization: ADMIN } }).then((r) =>
      r.text(),
    );
    assert.match(metrics, /agentfleet_rollout_decisions_total\{decision="promote"\} 1/);
    const lines: string[] = [];
    const code = await runRolloutCommand(
      { action: 'status', name: 'bot', url: base, key: alice.slice('Bearer '.length) },
      { log: (l) => lines.push(l), error: (l) => lines.push(l) },
    );
    assert.equal(code, 0, lines.join('\n'));
    assert.equal(JSON.parse(lines[0]!).status, 'promoted');
  });

  it('rolls a failing version back at once, with the reason, and all traffic is on the old one', async () => {
    await call('PUT', '/v1/definitions/shaky', alice, rules('shaky', 'fine'));
    const ids = Array.from({ length: 20 }, (_, i) => `shaky-${i}`);
    for (const id of ids) await call('POST', '/v1/agents', alice, { definition: 'shaky', id });
    // Its model's provider is not configured: every message it takes fails.
    const broken = { name: 'shaky', cognition: { type: 'llm', model: 'nowhere/model' } };
    const started = await call('POST', '/v1/definitions/shaky/rollout', alice, {
      spec: broken,
      steps: [50, 100],
      holdMs: 60_000,
      gates: { minSamples: 5 },
    });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const status = async () => (await call('GET', '/v1/definitions/shaky/rollout', alice)).body;
    await traffic(alice, ids, async () => (await status()).status !== 'running');
    const done = await status();
    assert.equal(done.status, 'rolled-back');
    assert.match(done.reason, /errorRate/);
    for (const id of ids) {
      const answer = await call('POST', `/v1/agents/${id}/messages`, alice, { input: {} });
      assert.equal(answer.status, 200, `${id} answers from the old version`);
    }
  });

  it('bad input: a missing version, two at once, a bad plan, none to show; tenants apart', async () => {
    await call('PUT', '/v1/definitions/solo', alice, rules('solo', 'x'));
    await call('POST', '/v1/definitions/solo/versions', alice, rules('solo', 'y', 'two'));
    const missing = await call('POST', '/v1/definitions/solo/rollout', alice, { to: 'nope' });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'VERSION_NOT_FOUND');
    const badPlan = await call('POST', '/v1/definitions/solo/rollout', alice, { to: 'two', steps: [50, 20] });
    assert.equal(badPlan.status, 400);
    assert.equal(badPlan.body.error.code, 'ROLLOUT_INVALID');
    const neither = await call('POST', '/v1/definitions/solo/rollout', alice, { steps: [100] });
    assert.equal(neither.body.error.code, 'ROLLOUT_INVALID');
    const badSpec = await call('POST', '/v1/definitions/solo/rollout', alice, { spec: { name: 'solo' } });
    assert.equal(badSpec.body.error.code, 'SPEC_INVALID');
    assert.equal(
      (await call('GET', '/v1/definitions/solo/rollout', alice)).body.error.code,
      'ROLLOUT_NOT_FOUND',
    );
    assert.equal((await call('POST', '/v1/definitions/solo/rollout', alice, { to: 'two' })).status, 201);
    const twice = await call('POST', '/v1/definitions/solo/rollout', alice, { to: 'two' });
    assert.equal(twice.status, 409);
    assert.equal(twice.body.error.code, 'ROLLOUT_EXISTS');
    assert.equal((await call('GET', '/v1/definitions/solo/rollout', bob)).status, 404, 'bob sees none of it');
    assert.equal((await call('POST', '/v1/definitions/solo/rollout/abort', bob)).status, 404);
    assert.equal((await call('POST', '/v1/definitions/solo/rollout/pause', alice)).body.status, 'paused');
    assert.equal((await call('POST', '/v1/definitions/solo/rollout/resume', alice)).body.status, 'running');
    assert.equal((await call('POST', '/v1/definitions/solo/rollout/abort', alice)).body.status, 'aborted');
    const again = await call('POST', '/v1/definitions/solo/rollout/abort', alice);
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'ROLLOUT_NOT_ACTIVE');
    const current = (await call('GET', '/v1/definitions/solo/versions', alice)).body.versions.find(
      (v: { current: boolean }) => v.current,
    );
    assert.equal(current.label, 'r1', 'the running version untouched');
  });

  it('the admin rolls out the node’s own definitions from a spec; a tenant cannot', async () => {
    const started = await call('POST', '/v1/definitions/greeter/rollout', ADMIN, {
      spec: rules('greeter', 'hi there', 'two'),
    });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    assert.match(started.body.from, /^one@/);
    assert.equal((await call('GET', '/v1/definitions/greeter/rollout', alice)).status, 404);
    assert.equal(
      (await call('POST', '/v1/definitions/greeter/rollout/promote', ADMIN)).body.status,
      'promoted',
    );
    await call('POST', '/v1/agents', alice, { definition: 'greeter', id: 'g1' });
    const answer = await call('POST', '/v1/agents/g1/messages', alice, { input: {} });
    assert.equal(answer.body.output.value, 'hi there');
  });
});
