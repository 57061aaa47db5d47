// The isolation test: 1,000 tenants, 1,000,000 interleaved operations through HTTP and the
// library — agent creation and messages, state writes and reads, bus publishes, subscriptions
// and requests — and not one read of another tenant's data. Every tenant's agent has the same
// id ("bot"), so any mix-up would show. Agent steps cross the pool queue (a small pool),
// timers and a bus request/reply hop before they look at their tenant and their state.
// ISOLATION_OPS scales the run (default 1,000,000); the figures are printed as one JSON line.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { Envelope } from '../../src/bus/index.ts';
import { loadServerConfig } from '../../src/config/index.ts';
import { currentTenantId, withoutTenant, withTenant } from '../../src/context/index.ts';
import { defineAgent } from '../../src/core/index.ts';
import { type RunningServer, startServer } from '../../src/server/index.ts';
import { issueApiKey } from '../../src/tenancy/index.ts';
import { seededRandom } from '../helpers.ts';
import { TEST_ADMIN_KEY } from '../server-auth.ts';

const TENANTS = Number(process.env.ISOLATION_TENANTS ?? 1_000);
const OPS = Number(process.env.ISOLATION_OPS ?? 1_000_000);
const BATCH = 2_000;
const HTTP_EVERY = 20; // one operation in 20 goes through HTTP

interface ProbeResult {
  tenant: string | undefined;
  afterTimer: string | undefined;
  viaBus: string | undefined;
  stateOwner: unknown;
}

let app: RunningServer;
let base: string;
const tenants: Array<{ id: string; authorization: string }> = [];
const counts: Record<string, number> = {};
const violations: string[] = [];
const count = (kind: string) => {
  counts[kind] = (counts[kind] ?? 0) + 1;
};
const violation = (what: string) => {
  if (violations.length < 20) violations.push(what);
  count('violations');
};

before(async () => {
  app = await startServer(
    loadServerConfig(
      {},
      {
        port: 0,
        host: '127.0.0.1',
        logLevel: 'silent',
        adminKey: TEST_ADMIN_KEY,
        poolCapacity: 16, // small, so steps queue
        poolQueueLimit: 1_000_000,
      },
    ),
    pino({ level: 'silent' }),
  );
  base = `http://127.0.0.1:${app.port}`;
  const { runtime, bus, state } = app;
  // A system responder: it runs each request as the requester's tenant and says which one.
  await withoutTenant(() => bus.subscribe('probe.echo', () => currentTenantId()));
  runtime.register(
    defineAgent({
      name: 'probe',
      decide: async (input: { hop: number }): Promise<ProbeResult> => {
        const tenant = currentTenantId();
        if (input.hop % 2 === 0) await new Promise((r) => setTimeout(r, 0));
        else await new Promise((r) => setImmediate(r));
        const afterTimer = currentTenantId();
        const reply = await bus.request<string>('probe.echo', null, { timeout: 30_000 });
        return { tenant, afterTimer, viaBus: reply.payload, stateOwner: state.get('bot')?.values.owner };
      },
    }),
  );
  for (let i = 0; i < TENANTS; i++) {
    const id = `t${i}`;
    await app.registry.createTenant({ id });
    const { key } = await issueApiKey(app.registry, id);
    tenants.push({ id, authorization: `Bearer ${key}` });
    await withTenant(id, async () => {
      await runtime.spawn('probe', { id: 'bot' });
      await runtime.spawn('probe', { id: `own-${id}` });
      state.set('bot', { owner: id });
      // Each tenant listens on one shared topic; only its own messages may arrive.
      await bus.subscribe('fleet.news', (m: Envelope<{ from: string }>) => {
        count('bus-deliveries');
        if (m.payload.from !== id || currentTenantId() !== id) violation(`${id} received ${m.payload.from}`);
      });
    });
  }
});
after(() => app.shutdown());

async function httpJson(
  path: string,
  authorization: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? { authorization } : { authorization, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

function checkProbe(id: string, r: ProbeResult): void {
  if (r.tenant !== id || r.afterTimer !== id || r.viaBus !== id || r.stateOwner !== id) {
    violation(`${id} probe saw ${JSON.stringify(r)}`);
  }
}

/** One operation for tenant `t`, chosen by `roll`; `other` is another tenant to try to read. */
async function operation(
  t: { id: string; authorization: string },
  other: string,
  roll: number,
  n: number,
): Promise<void> {
  const { runtime, state, bus } = app;
  if (n % HTTP_EVERY === 0) {
    const kind = roll < 0.4 ? 'http-message' : roll < 0.7 ? 'http-state-read' : 'http-foreign-read';
    count(kind);
    if (kind === 'http-message') {
      const r = await httpJson('/v1/agents/bot/messages', t.authorization, { input: { hop: n } });
      checkProbe(t.id, r.body.output);
    } else if (kind === 'http-state-read') {
      const r = await httpJson('/v1/agents/bot/state', t.authorization);
      if (r.body.tenant !== t.id || r.body.values.owner !== t.id)
        violation(`${t.id} HTTP state ${JSON.stringify(r.body)}`);
    } else {
      const r = await httpJson(`/v1/agents/own-${other}`, t.authorization);
      if (r.status !== 404) violation(`${t.id} HTTP read own-${other}: ${r.status}`);
    }
    return;
  }
  await withTenant(t.id, async () => {
    if (roll < 0.35) {
      count('library-message');
      checkProbe(t.id, await runtime.send<ProbeResult>('bot', { hop: n }));
    } else if (roll < 0.55) {
      count('library-state-write');
      state.set('bot', { owner: t.id, n });
    } else if (roll < 0.75) {
      count('library-state-read');
      const s = state.get('bot');
      if (s?.tenant !== t.id || s.values.owner !== t.id) violation(`${t.id} state ${JSON.stringify(s)}`);
    } else if (roll < 0.85) {
      count('library-foreign-read');
      if (runtime.get(`own-${other}`) !== undefined) violation(`${t.id} got own-${other}`);
      if (state.get(`own-${other}`) !== undefined) violation(`${t.id} got state of own-${other}`);
      if (runtime.list({ allTenants: true }).some((a) => a.tenant !== t.id))
        violation(`${t.id} listed others`);
    } else {
      count('bus-publish');
      await bus.publish('fleet.news', { from: t.id });
    }
  });
}

describe(`tenant isolation: ${TENANTS} tenants, ${OPS} interleaved operations`, () => {
  it('never lets one tenant read another’s agents, state or messages', { timeout: 30 * 60_000 }, async () => {
    const random = seededRandom(20261125);
    const started = performance.now();
    let done = 0;
    while (done < OPS) {
      const size = Math.min(BATCH, OPS - done);
      const batch: Promise<void>[] = [];
      for (let i = 0; i < size; i++) {
        const t = tenants[Math.floor(random() * tenants.length)]!;
        let other = tenants[Math.floor(random() * tenants.length)]!.id;
        if (other === t.id) other = tenants[(tenants.indexOf(t) + 1) % tenants.length]!.id;
        batch.push(operation(t, other, random(), done + i));
      }
      await Promise.all(batch);
      done += size;
      if (process.env.ISOLATION_PROGRESS !== undefined && done % 100_000 === 0) {
        console.log(`${done} operations, ${((performance.now() - started) / 1000).toFixed(1)} s`);
      }
    }
    await new Promise((r) => setTimeout(r, 50)); // let the last bus deliveries land
    const seconds = (performance.now() - started) / 1000;
    const total = Object.entries(counts)
      .filter(([k]) => k !== 'violations' && k !== 'bus-deliveries')
      .reduce((sum, [, v]) => sum + v, 0);
    console.log(
      `JSON: ${JSON.stringify({ name: 'isolation', tenants: TENANTS, operations: total, seconds: Number(seconds.toFixed(1)), crossTenantReads: counts.violations ?? 0, ...counts })}`,
    );
    assert.equal(total, OPS);
    assert.deepEqual(violations, []);
    assert.equal(
      counts['bus-deliveries'],
      counts['bus-publish'],
      'each publish reached exactly its own tenant',
    );
  });

  it('deletes tenants (HTTP and library, one cascade); the same ids re-created read nothing of them', async () => {
    const { runtime, state, registry, server } = app;
    const gone = tenants.slice(0, Math.max(2, Math.floor(TENANTS / 10)));
    await Promise.all(
      gone.map(async (t, i) => {
        if (i % 2 === 0) {
          const res = await fetch(`${base}/v1/tenants/${t.id}`, {
            method: 'DELETE',
            headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
          });
          assert.equal(res.status, 200, `${t.id}: ${await res.text()}`);
        } else await server.tenantDeletion!.delete(t.id);
      }),
    );
    const survivor = tenants[gone.length]!;
    for (const t of gone) {
      assert.equal((await httpJson('/v1/agents', t.authorization)).status, 401, `${t.id}'s old key`);
      await registry.createTenant({ id: t.id });
      await withTenant(t.id, async () => {
        assert.deepEqual(runtime.list(), [], `${t.id}: no agents`);
        assert.equal(state.get('bot'), undefined, `${t.id}: no state`);
        assert.equal(runtime.tenantUsage(t.id).agents, 0);
      });
      assert.deepEqual(await registry.listKeys(t.id), []);
    }
    await withTenant(survivor.id, () => {
      assert.equal(state.get('bot')?.values.owner, survivor.id, 'other tenants keep theirs');
      assert.equal(runtime.list().length, 2);
    });
  });
});
