// Breaker state changes and rate-limit refusals show up in /metrics and in the admin API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rejectsWithCode } from '../../test/helpers.ts';
import { TEST_ADMIN_KEY } from '../../test/server-auth.ts';
import { loadServerConfig } from '../config/index.ts';
import { createLogger } from '../context/index.ts';
import { ResiliencePolicy } from '../resilience/index.ts';
import { type RunningServer, startServer } from './start-server.ts';

const ADMIN = { authorization: `Bearer ${TEST_ADMIN_KEY}` };
let app: RunningServer;

before(async () => {
  app = await startServer(
    loadServerConfig({}, { port: 0, host: '127.0.0.1', logLevel: 'silent', adminKey: TEST_ADMIN_KEY }),
    createLogger({ level: 'silent' }),
  );
});
after(() => app.shutdown());

describe('resilience in metrics and the API', () => {
  it('an open circuit and a rate-limit refusal appear in /metrics and GET /v1/resilience', async () => {
    const policy = new ResiliencePolicy('openai/gpt', {
      rateLimit: { type: 'fixed-window', limitForPeriod: 3, limitRefreshPeriodMs: 60_000 },
      circuitBreaker: { slidingWindowSize: 2, minimumNumberOfCalls: 2, waitDurationInOpenStateMs: 60_000 },
    });
    const failing = () => Promise.reject(new Error('500'));
    await policy.execute(failing).catch(() => {});
    await policy.execute(failing).catch(() => {});
    await rejectsWithCode(policy.execute(failing), 'CIRCUIT_OPEN');
    await rejectsWithCode(policy.execute(failing), 'RATE_LIMITED');
    const metrics = await (await fetch(`http://127.0.0.1:${app.port}/metrics`, { headers: ADMIN })).text();
    assert.match(metrics, /agentfleet_circuit_state\{policy="openai\/gpt"\} 2/);
    assert.match(metrics, /agentfleet_circuit_transitions_total\{policy="openai\/gpt",to="open"\} 1/);
    assert.match(metrics, /agentfleet_rate_limited_total\{policy="openai\/gpt"\} 1/);
    const res = await fetch(`http://127.0.0.1:${app.port}/v1/resilience`, { headers: ADMIN });
    const body = (await res.json()) as {
      policies: Array<{ name: string; circuit: { state: string; rejected: number }; rateLimited: number }>;
    };
    const listed = body.policies.find((p) => p.name === 'openai/gpt');
    assert.equal(listed?.circuit.state, 'open');
    assert.equal(listed?.circuit.rejected, 1);
    assert.equal(listed?.rateLimited, 1);
    await policy.close();
    const after = (await (
      await fetch(`http://127.0.0.1:${app.port}/v1/resilience`, { headers: ADMIN })
    ).json()) as { policies: unknown[] };
    assert.equal(after.policies.length, 0, 'a closed policy is forgotten');
  });
});
