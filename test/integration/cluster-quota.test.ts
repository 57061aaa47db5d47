// Two servers sharing Redis (AGENTFLEET_REDIS_URL) hold one request window per tenant; a server
// whose Redis is lost answers 503 RATE_LIMITER_UNAVAILABLE at once and recovers by itself.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { loadServerConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/context/index.ts';
import { type RunningServer, startServer } from '../../src/server/index.ts';
import { issueApiKey } from '../../src/tenancy/index.ts';
import { type OwnRedis, redisBinarySkipReason, startOwnRedis } from '../flaky/redis-server.ts';
import { rejectsWithCode, sleep } from '../helpers.ts';
import { TEST_ADMIN_KEY } from '../server-auth.ts';
import { serverSkipReason } from './servers.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const skip = await serverSkipReason('Redis', 6379);
const noBinary = redisBinarySkipReason();

/** Repeats `request` until its status is `want` (each try answers at once; the loop waits for a state, not a time). */
async function untilStatus(request: () => Promise<Response>, want: number, tries = 500): Promise<Response> {
  for (let i = 0; i < tries; i++) {
    const res = await request();
    if (res.status === want) return res;
    await res.arrayBuffer();
    await sleep(20);
  }
  assert.fail(`never answered ${want}`);
}

describe('tenant request windows across servers', { skip }, () => {
  const servers: RunningServer[] = [];
  const tenant = `t${randomBytes(4).toString('hex')}`;
  let key = '';
  before(async () => {
    for (let i = 0; i < 2; i++) {
      servers.push(
        await startServer(
          loadServerConfig(
            { AGENTFLEET_REDIS_URL: REDIS_URL },
            { port: 0, host: '127.0.0.1', logLevel: 'silent', adminKey: TEST_ADMIN_KEY },
          ),
          createLogger({ level: 'silent' }),
        ),
      );
    }
    // The same tenant and key on both (a shared registry would do this; here each has its own).
    const quotas = { requestsPerPeriod: 4, periodSeconds: 60 };
    await servers[0]!.registry.createTenant({ id: tenant, quotas });
    const issued = await issueApiKey(servers[0]!.registry, tenant);
    key = issued.key;
    await servers[1]!.registry.createTenant({ id: tenant, quotas });
    await servers[1]!.registry.addKey(issued.record);
  });
  after(() => Promise.all(servers.map((s) => s.shutdown())));

  it('4 requests a minute in all, whichever server answers', async () => {
    const get = (i: number) =>
      fetch(`http://127.0.0.1:${servers[i]!.port}/v1/agents`, {
        headers: { authorization: `Bearer ${key}` },
      });
    const statuses: number[] = [];
    for (const i of [0, 1, 0, 1, 0, 1]) statuses.push((await get(i)).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
  });

  it('an unreachable Redis fails the start with REDIS_UNAVAILABLE', async () => {
    await rejectsWithCode(
      startServer(
        loadServerConfig(
          { AGENTFLEET_REDIS_URL: 'redis://127.0.0.1:1' },
          { port: 0, logLevel: 'silent', adminKey: TEST_ADMIN_KEY },
        ),
        createLogger({ level: 'silent' }),
      ),
      'REDIS_UNAVAILABLE',
    );
  });
});

describe('a server whose Redis is lost', { skip: noBinary, timeout: 60_000 }, () => {
  let own: OwnRedis;
  let server: RunningServer;
  let key = '';
  before(async () => {
    own = await startOwnRedis();
    server = await startServer(
      loadServerConfig(
        { AGENTFLEET_REDIS_URL: own.url },
        { port: 0, host: '127.0.0.1', logLevel: 'silent', adminKey: TEST_ADMIN_KEY },
      ),
      createLogger({ level: 'silent' }),
    );
    const tenant = `t${randomBytes(4).toString('hex')}`;
    await server.registry.createTenant({
      id: tenant,
      quotas: { requestsPerPeriod: 10_000, periodSeconds: 60 },
    });
    key = (await issueApiKey(server.registry, tenant)).key;
  });
  after(async () => {
    await server.shutdown();
    await own.close();
  });

  it('answers 503 RATE_LIMITER_UNAVAILABLE with Retry-After while Redis is down, and 200 once it is back', async () => {
    const get = () =>
      fetch(`http://127.0.0.1:${server.port}/v1/agents`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal((await get()).status, 200);
    await own.kill();
    const down = await untilStatus(get, 503);
    assert.equal(down.headers.get('retry-after'), '1');
    assert.equal(((await down.json()) as { error: { code: string } }).error.code, 'RATE_LIMITER_UNAVAILABLE');
    const again = await get();
    assert.equal(again.status, 503);
    const body = (await again.json()) as { error: { code: string; details?: { reason?: string } } };
    assert.deepEqual(
      [body.error.code, body.error.details?.reason],
      ['RATE_LIMITER_UNAVAILABLE', 'not-connected'],
    );
    await own.start();
    await untilStatus(get, 200);
  });
});
