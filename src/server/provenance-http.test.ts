// Provenance over HTTP: a node with `provenance: sqlite` records each decision of an LLM agent;
// each tenant queries and exports only its own, bad queries are INVALID_REQUEST, and deleting a
// tenant deletes its records.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { z } from 'zod';
import { call } from '../../test/durable-server.ts';
import { scriptedProvider, toolLoop } from '../../test/scripted-provider.ts';
import { createTestTenant, TEST_ADMIN_KEY } from '../../test/server-auth.ts';
import { loadServerConfig } from '../config/index.ts';
import { withTenant } from '../context/index.ts';
import { defineAgent } from '../core/index.ts';
import { llm } from '../llm-agent/index.ts';
import { sha256 } from '../provenance/index.ts';
import { defineTool } from '../tools/index.ts';
import { type RunningServer, startServer } from './index.ts';

let app: RunningServer;
let dataDir: string;
let base: string;
const keys: Record<string, string> = {};
const admin = `Bearer ${TEST_ADMIN_KEY}`;

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'af-prov-'));
  app = await startServer(
    loadServerConfig(
      { AGENTFLEET_PROVENANCE: 'sqlite', AGENTFLEET_DATA_DIR: dataDir },
      { port: 0, host: '127.0.0.1', logLevel: 'silent', adminKey: TEST_ADMIN_KEY },
    ),
    pino({ level: 'silent' }),
  );
  base = `http://127.0.0.1:${app.port}`;
  const lookup = defineTool({
    name: 'lookup',
    description: 'Look up',
    parameters: z.object({}),
    execute: () => 'found',
  });
  const provider = scriptedProvider(toolLoop('lookup', 1));
  const recorder = app.node.provenance;
  assert.ok(recorder !== undefined);
  app.runtime.register(
    defineAgent({
      name: 'desk',
      decide: llm({
        provider,
        model: 'scripted',
        tools: [lookup],
        provenance: recorder,
        knowledge: {
          base: {
            search: async (tenant) => [{ documentId: `doc-${tenant}`, chunk: 0, text: 'x', score: 0.5 }],
          },
        },
      }),
    }),
  );
  for (const id of ['alpha', 'beta']) {
    keys[id] = (await createTestTenant(app, id)).authorization;
    await withTenant(id, () => app.runtime.spawn('desk', { id: 'desk' }));
  }
  for (const [id, n] of [
    ['alpha', 3],
    ['beta', 1],
  ] as const) {
    for (let i = 0; i < n; i++) {
      const reply = await call(base, 'POST', '/v1/agents/desk/messages', keys[id]!, { input: `q${i}` });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
    }
  }
  await recorder.flush();
});
after(async () => {
  await app.shutdown();
  await rm(dataDir, { recursive: true, force: true });
});

describe('GET /v1/provenance', () => {
  it('a tenant sees its own decisions only, with what the loop knew', async () => {
    const alpha = await call(base, 'GET', '/v1/provenance', keys.alpha!);
    assert.equal(alpha.status, 200);
    assert.equal(alpha.body.records.length, 3);
    assert.equal(alpha.body.next, null);
    const [first] = alpha.body.records;
    assert.equal(first.tenant, 'alpha');
    assert.equal(first.agentId, 'desk');
    assert.equal(first.seq, 1);
    assert.equal(first.inputHash, sha256('q0'));
    assert.deepEqual(first.passages, [
      { documentId: 'doc-alpha', chunk: 0, documentVersion: null, score: 0.5 },
    ]);
    assert.equal(first.toolCalls[0].name, 'lookup');
    const beta = await call(base, 'GET', '/v1/provenance', keys.beta!);
    assert.deepEqual(
      beta.body.records.map((r: { tenant: string }) => r.tenant),
      ['beta'],
    );
    const other = await call(base, 'GET', '/v1/provenance?document=doc-beta', keys.alpha!);
    assert.deepEqual(other.body.records, [], "another tenant's document finds nothing");
  });

  it('filters and pages; the admin reads a tenant with X-Agentfleet-Tenant', async () => {
    const used = await call(base, 'GET', '/v1/provenance?document=doc-alpha&limit=2', keys.alpha!);
    assert.equal(used.body.records.length, 2);
    assert.equal(used.body.next, 2);
    const rest = await call(
      base,
      'GET',
      `/v1/provenance?document=doc-alpha&after=${used.body.next}`,
      keys.alpha!,
    );
    assert.deepEqual(
      rest.body.records.map((r: { seq: number }) => r.seq),
      [3],
    );
    const none = await call(base, 'GET', '/v1/provenance?model=other&from=2020-01-01T00:00:00Z', keys.alpha!);
    assert.deepEqual(none.body.records, []);
    const asAdmin = await call(base, 'GET', '/v1/provenance', admin, undefined, {
      'x-agentfleet-tenant': 'beta',
    });
    assert.equal(asAdmin.status, 200);
    assert.equal(asAdmin.body.records.length, 1);
  });

  it('counts what it wrote on /metrics', async () => {
    const res = await fetch(`${base}/metrics`, { headers: { authorization: admin } });
    assert.match(await res.text(), /agentfleet_provenance_records_written_total 4/);
  });

  it('exports JSON lines', async () => {
    for (const path of ['/v1/provenance/export?agent=desk', '/v1/provenance?format=jsonl']) {
      const res = await fetch(`${base}${path}`, { headers: { authorization: keys.alpha! } });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /ndjson/);
      const lines = (await res.text())
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.deepEqual(
        lines.map((r) => [r.tenant, r.seq]),
        [
          ['alpha', 1],
          ['alpha', 2],
          ['alpha', 3],
        ],
      );
    }
  });

  it('bad query parameters are INVALID_REQUEST', async () => {
    for (const q of ['limit=0', 'limit=x', 'trace=nothex', 'from=yesterday', 'unknown=1', 'format=xml']) {
      const reply = await call(base, 'GET', `/v1/provenance?${q}`, keys.alpha!);
      assert.equal(reply.status, 400, q);
      assert.equal(reply.body.error.code, 'INVALID_REQUEST', q);
    }
    const exported = await call(base, 'GET', '/v1/provenance/export?limit=5', keys.alpha!);
    assert.equal(exported.status, 400);
  });

  it("deleting a tenant deletes its records, not another's", async () => {
    const deleted = await call(base, 'DELETE', '/v1/tenants/beta', admin);
    assert.ok(deleted.status < 300, JSON.stringify(deleted.body));
    assert.deepEqual(await app.node.provenance?.store.tenants(), ['alpha']);
    assert.equal((await app.node.provenance?.store.verify('alpha'))?.ok, true);
  });
});
