import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually } from '../../test/helpers.ts';
import { startVendorServer } from '../../test/vendors/server.ts';
import { selfSignedCert } from '../../test/vendors/tls.ts';
import { createVendorProvider, DEFAULT_CONNECTIONS, type Provider, type ProviderStats } from './index.ts';

// The connection pool must not be what holds a fleet back: HTTP/2 where the vendor offers it
// (many calls share one connection), and an HTTP/1.1 default that lets hundreds of calls out
// at once. No timing here: the vendor holds requests and counts what reaches it.

const ask = { model: 'm', messages: [{ role: 'user' as const, content: 'hi' }] };
const stats = (p: Provider) => (p.stats as () => ProviderStats)();

async function drain(p: Provider): Promise<string> {
  let last = '';
  for await (const e of p.stream(ask)) last = e.type;
  return last;
}

describe('vendor HTTP: HTTP/2 and the connection default', () => {
  it('goes over HTTP/2 when the vendor offers it; 60 concurrent calls share one connection', async () => {
    const tls = selfSignedCert();
    const server = await startVendorServer({ tls, hold: true });
    const provider = createVendorProvider('openai', {
      baseUrl: `${server.url}/v1`,
      apiKey: 'k',
      http: { ca: tls.cert },
    });
    try {
      const calls = [
        ...Array.from({ length: 30 }, () => provider.generate(ask).then((r) => r.finishReason)),
        ...Array.from({ length: 30 }, () => drain(provider)),
      ];
      await eventually(() => server.inFlight === 60, 20_000);
      assert.equal(server.connections, 1, 'one connection carries them all');
      server.release();
      assert.deepEqual(new Set(await Promise.all(calls)), new Set(['stop', 'finish']));
      assert.deepEqual(new Set(server.calls.map((c) => c.httpVersion)), new Set(['2.0']));
    } finally {
      server.release();
      await provider.close();
      await server.close();
    }
  });

  it('http2: false keeps to HTTP/1.1 (one connection per call in flight)', async () => {
    const tls = selfSignedCert();
    const server = await startVendorServer({ tls, hold: true });
    const provider = createVendorProvider('openai', {
      baseUrl: `${server.url}/v1`,
      apiKey: 'k',
      http: { ca: tls.cert, http2: false },
    });
    try {
      const calls = Array.from({ length: 5 }, () => provider.generate(ask));
      await eventually(() => server.inFlight === 5, 20_000);
      assert.equal(server.connections, 5);
      server.release();
      await Promise.all(calls);
      assert.deepEqual(new Set(server.calls.map((c) => c.httpVersion)), new Set(['1.1']));
    } finally {
      server.release();
      await provider.close();
      await server.close();
    }
  });

  it('over HTTP/1.1 the default pool lets 300 calls out at once (the old default held 64 back)', async () => {
    assert.ok(DEFAULT_CONNECTIONS >= 1_024);
    const server = await startVendorServer({ hold: true, record: false });
    const provider = createVendorProvider('openai', { baseUrl: `${server.url}/v1`, apiKey: 'k' });
    try {
      const calls = Array.from({ length: 300 }, () => provider.generate(ask));
      // every call is either at the vendor or waiting in the pool for a connection
      await eventually(() => server.inFlight + stats(provider).http.queued === 300, 20_000);
      assert.equal(stats(provider).http.queued, 0, 'none waits for a connection');
      assert.equal(server.inFlight, 300);
      server.release();
      await Promise.all(calls);
    } finally {
      server.release();
      await provider.close();
      await server.close();
    }
  });

  it('stats() shows calls waiting for a connection when `connections` is set low', async () => {
    const server = await startVendorServer({ hold: true, record: false });
    const provider = createVendorProvider('openai', {
      baseUrl: `${server.url}/v1`,
      apiKey: 'k',
      http: { connections: 4 },
    });
    try {
      const calls = Array.from({ length: 10 }, () => provider.generate(ask));
      await eventually(() => server.inFlight + stats(provider).http.queued === 10, 20_000);
      assert.equal(server.inFlight, 4);
      assert.equal(stats(provider).http.queued, 6);
      server.release();
      await Promise.all(calls);
    } finally {
      server.release();
      await provider.close();
      await server.close();
    }
  });
});
