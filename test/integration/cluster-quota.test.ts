// Two servers sharing Redis (AGENTFLEET_REDIS_URL) hold one request window per tenant.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { loadServerConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { type RunningServer, startServer } from '../../src/server/index.ts';
import { issueApiKey } from '../../src/tenancy/index.ts';
import { rejectsWithCode } from '../helpers.ts';
import { TEST_ADMIN_KEY } from '../server-auth.ts';
import { serverSkipReason } from './servers.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const skip = await serverSkipReason('Redis', 6379);

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
