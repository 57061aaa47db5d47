// The admin-only debug routes (/debug/vars, CPU profile, heap snapshot) and /metrics access.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestTenant, TEST_ADMIN_KEY } from '../../test/server-auth.ts';
import { loadServerConfig } from '../config/index.ts';
import { createLogger } from '../context/index.ts';
import { type RunningServer, startServer } from './start-server.ts';

const ADMIN = { authorization: `Bearer ${TEST_ADMIN_KEY}` };
let app: RunningServer;
let base: string;
let tenant: { authorization: string };

/** Resolves once `condition()` holds, checking after each turn of the event loop. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

before(async () => {
  app = await startServer(
    loadServerConfig({}, { port: 0, host: '127.0.0.1', logLevel: 'silent', adminKey: TEST_ADMIN_KEY }),
    createLogger({ level: 'silent' }),
  );
  base = `http://127.0.0.1:${app.port}`;
  tenant = { authorization: (await createTestTenant(app, 'plain')).authorization };
});
after(() => app.shutdown());

describe('debug routes', () => {
  it('/debug/vars: runtime figures for the admin, 403 for a tenant, 401 without a key', async () => {
    const res = await fetch(`${base}/debug/vars`, { headers: ADMIN });
    assert.equal(res.status, 200);
    const vars = (await res.json()) as Record<string, any>;
    assert.equal(typeof vars.uptimeSeconds, 'number');
    assert.equal(typeof vars.memory.heapUsed, 'number');
    assert.equal(typeof vars.eventLoop.utilization, 'number');
    assert.equal(typeof vars.eventLoop.delayMs.p99, 'number');
    assert.ok(vars.runtime.agents.running >= 1);
    assert.equal(vars.bus.transport, 'memory');
    assert.equal((await fetch(`${base}/debug/vars`, { headers: tenant })).status, 403);
    assert.equal((await fetch(`${base}/debug/vars`)).status, 401);
  });

  it('/debug/pprof/profile: a .cpuprofile for Chrome DevTools; one at a time; bounded seconds', async () => {
    const first = fetch(`${base}/debug/pprof/profile?seconds=0.3`, { headers: ADMIN });
    await until(() => app.server.inFlight > 0); // the first profile has begun
    const second = await fetch(`${base}/debug/pprof/profile?seconds=0.1`, { headers: ADMIN });
    assert.equal(second.status, 409);
    assert.equal(((await second.json()) as { error: { code: string } }).error.code, 'PROFILE_IN_PROGRESS');
    const res = await first;
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-disposition') ?? '', /\.cpuprofile"/);
    const profile = (await res.json()) as { nodes: unknown[]; startTime: number; endTime: number };
    assert.ok(profile.nodes.length > 0);
    assert.ok(profile.endTime > profile.startTime);
    assert.equal((await fetch(`${base}/debug/pprof/profile?seconds=600`, { headers: ADMIN })).status, 400);
  });

  it('/debug/pprof/heap: a heap snapshot, streamed', async () => {
    const res = await fetch(`${base}/debug/pprof/heap`, { headers: ADMIN });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-disposition') ?? '', /\.heapsnapshot"/);
    const text = await res.text();
    const snapshot = JSON.parse(text) as { snapshot: { node_count: number } };
    assert.ok(snapshot.snapshot.node_count > 1000);
    assert.equal((await fetch(`${base}/debug/pprof/heap`, { headers: tenant })).status, 403);
  });

  it('/metrics is for the admin unless made public', async () => {
    const res = await fetch(`${base}/metrics`, { headers: ADMIN });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    assert.match(await res.text(), /agentfleet_/);
    assert.equal((await fetch(`${base}/metrics`, { headers: tenant })).status, 403);
  });
});
