// Knowledge over HTTP: ingest, search and delete, per tenant, with typed errors for bad input.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestTenant, TEST_ADMIN_KEY } from '../../test/server-auth.ts';
import { loadServerConfig } from '../config/index.ts';
import { createLogger } from '../context/index.ts';
import { type RunningServer, startServer } from './start-server.ts';

let app: RunningServer;
let acme: string;
let globex: string;

async function call(method: string, path: string, authorization: string, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${app.port}${path}`, {
    method,
    headers: { authorization, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

before(async () => {
  app = await startServer(
    loadServerConfig({}, { port: 0, host: '127.0.0.1', logLevel: 'silent', adminKey: TEST_ADMIN_KEY }),
    createLogger({ level: 'silent' }),
  );
  acme = (await createTestTenant(app, 'acme')).authorization;
  globex = (await createTestTenant(app, 'globex')).authorization;
});
after(() => app.shutdown());

describe('knowledge over HTTP', () => {
  it('ingests, searches with citations and deletes, per tenant', async () => {
    const put = await call('POST', '/v1/knowledge/documents', acme, {
      id: 'manual',
      text: 'Hold the reset button for ten seconds to reset the router.',
    });
    assert.deepEqual(put.body, { id: 'manual', chunks: 1 });
    const found = await call('POST', '/v1/knowledge/search', acme, { query: 'reset the router', k: 3 });
    assert.equal(found.body.passages[0].documentId, 'manual');
    const theirs = await call('POST', '/v1/knowledge/search', globex, { query: 'reset the router' });
    assert.deepEqual(theirs.body.passages, [], "another tenant's documents are invisible");
    assert.equal((await call('DELETE', '/v1/knowledge/documents/manual', globex)).status, 404);
    assert.equal((await call('DELETE', '/v1/knowledge/documents/manual', acme)).status, 200);
  });

  it('searches by a vector the caller embedded; a wrong dimension is VECTOR_INVALID', async () => {
    await call('POST', '/v1/knowledge/documents', acme, { id: 'wifi', text: 'Change the Wi-Fi channel.' });
    const vector = Array.from((await app.knowledge.embedder.embed(['Wi-Fi channel']))[0]!);
    const found = await call('POST', '/v1/knowledge/search', acme, { vector, k: 1 });
    assert.equal(found.body.passages[0].documentId, 'wifi');
    const short = await call('POST', '/v1/knowledge/search', acme, { vector: [0.5, 0.5] });
    assert.equal(short.status, 400);
    assert.equal(short.body.error.code, 'VECTOR_INVALID');
    const both = await call('POST', '/v1/knowledge/search', acme, { vector, query: 'x' });
    assert.equal(both.body.error.code, 'INVALID_REQUEST');
  });

  it('bad input: empty text, empty query, no tenant', async () => {
    assert.equal(
      (await call('POST', '/v1/knowledge/documents', acme, { id: 'x', text: '  ' })).body.error.code,
      'KNOWLEDGE_INVALID',
    );
    assert.equal(
      (await call('POST', '/v1/knowledge/search', acme, { query: '' })).body.error.code,
      'KNOWLEDGE_INVALID',
    );
    assert.equal(
      (await call('POST', '/v1/knowledge/documents', acme, { text: 'no id' })).body.error.code,
      'INVALID_REQUEST',
    );
    const admin = await call('POST', '/v1/knowledge/search', `Bearer ${TEST_ADMIN_KEY}`, { query: 'x' });
    assert.equal(admin.body.error.code, 'TENANT_REQUIRED');
  });
});
