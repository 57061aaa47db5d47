// Per-agent state over HTTP: patch, read, tags, limits, the delta stream, tenant isolation.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { createTestTenant, TEST_ADMIN_KEY } from '../../test/server-auth.ts';
import { loadServerConfig } from '../config/index.ts';
import { defineAgent } from '../core/index.ts';
import { type RunningServer, startServer } from './start-server.ts';

let app: RunningServer;
let base: string;
let acme: string;
let globex: string;

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies of many shapes
async function call(
  method: string,
  path: string,
  authorization: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

before(async () => {
  app = await startServer(
    loadServerConfig({}, { port: 0, host: '127.0.0.1', logLevel: 'silent', adminKey: TEST_ADMIN_KEY }),
    pino({ level: 'silent' }),
  );
  base = `http://127.0.0.1:${app.port}`;
  app.runtime.register(defineAgent({ name: 'robot', decide: () => 'ok' }));
  acme = (await createTestTenant(app, 'acme')).authorization;
  globex = (await createTestTenant(app, 'globex')).authorization;
  for (const auth of [acme, globex])
    await call('POST', '/v1/agents', auth, { definition: 'robot', id: 'r1' });
});
after(() => app.shutdown());

describe('state over HTTP', () => {
  it('patches values and tags, reads the snapshot, publishes only relevant fields', async () => {
    const tagged = await call('PATCH', '/v1/agents/r1/state', acme, { tags: ['low_battery'] });
    assert.equal(tagged.status, 200);
    const patched = await call('PATCH', '/v1/agents/r1/state', acme, {
      values: { battery_level: 12, position: [1, 2], note: 'hi' },
    });
    assert.equal(patched.status, 200);
    assert.deepEqual(patched.body.changed.sort(), ['battery_level', 'note', 'position']);
    assert.deepEqual(patched.body.published, ['battery_level'], 'only what low_battery cares about');
    const read = await call('GET', '/v1/agents/r1/state', acme);
    assert.equal(read.body.tenant, 'acme');
    assert.deepEqual(read.body.tags, ['low_battery']);
    assert.deepEqual(read.body.values, { battery_level: 12, position: [1, 2], note: 'hi' });
    assert.equal(read.body.ttlRule, 'default');
  });

  it("another tenant's agent of the same id has its own state; unknown agents are 404", async () => {
    await call('PATCH', '/v1/agents/r1/state', acme, { values: { secret: 'acme-only' } });
    const theirs = await call('GET', '/v1/agents/r1/state', globex);
    assert.equal(theirs.status, 404);
    assert.equal(theirs.body.error.code, 'STATE_NOT_FOUND');
    await call('PATCH', '/v1/agents/r1/state', globex, { values: { secret: 'globex' } });
    assert.equal((await call('GET', '/v1/agents/r1/state', globex)).body.values.secret, 'globex');
    assert.equal((await call('GET', '/v1/agents/r1/state', acme)).body.values.secret, 'acme-only');
    assert.equal((await call('GET', '/v1/agents/nobody/state', acme)).body.error.code, 'AGENT_NOT_FOUND');
  });

  it('refuses bad bodies, bad tags and states over the limits with typed errors', async () => {
    assert.equal((await call('PATCH', '/v1/agents/r1/state', acme, {})).body.error.code, 'INVALID_REQUEST');
    assert.equal(
      (await call('PATCH', '/v1/agents/r1/state', acme, { tags: ['Bad Tag'] })).body.error.code,
      'STATE_INVALID',
    );
    const huge = await call('PATCH', '/v1/agents/r1/state', acme, { values: { blob: 'x'.repeat(70_000) } });
    assert.equal(huge.status, 413);
    assert.equal(huge.body.error.code, 'STATE_LIMIT_EXCEEDED');
    const many = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, i]));
    assert.equal(
      (await call('PATCH', '/v1/agents/r1/state', acme, { values: many })).body.error.code,
      'STATE_LIMIT_EXCEEDED',
    );
    assert.equal(
      (await call('GET', '/v1/agents/r1/state', acme)).body.values.blob,
      undefined,
      'nothing applied',
    );
  });

  it("streams the agent's deltas as SSE, and never another tenant's", async () => {
    const controller = new AbortController();
    const res = await fetch(`${base}/v1/agents/r1/state/stream`, {
      headers: { authorization: acme },
      signal: controller.signal,
    });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = decoder.decode((await reader.read()).value); // ": connected"
    await call('PATCH', '/v1/agents/r1/state', globex, { tags: ['navigation'] });
    await call('PATCH', '/v1/agents/r1/state', acme, { tags: ['navigation'] });
    await call('PATCH', '/v1/agents/r1/state', acme, { values: { position: [9, 9] } });
    while (!text.includes('[9,9]')) text += decoder.decode((await reader.read()).value);
    controller.abort();
    const deltas = text
      .split('\n\n')
      .filter((b) => b.startsWith('event: delta'))
      .map((b) => JSON.parse(b.slice(b.indexOf('data: ') + 6)));
    assert.equal(deltas.length, 2, 'acme saw its own two deltas, not globex’s');
    assert.deepEqual(deltas[0].tags, ['navigation']);
    assert.deepEqual(deltas[1].changed, { position: [9, 9] });
  });

  it('DELETE removes the state', async () => {
    assert.deepEqual((await call('DELETE', '/v1/agents/r1/state', globex)).body, { deleted: true });
    assert.equal((await call('GET', '/v1/agents/r1/state', globex)).status, 404);
  });
});
