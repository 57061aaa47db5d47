import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { createRuntime } from '../core/index.ts';
import { createMetrics } from '../observability/index.ts';
import { Router } from './router.ts';
import { addMetricsRoute } from './routes/metrics.ts';

describe('GET /metrics route', () => {
  it('is admin-only unless told otherwise', () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const admin = new Router();
    addMetricsRoute(admin, metrics);
    assert.equal(admin.match('GET', '/metrics').access, 'admin');
    const open = new Router();
    addMetricsRoute(open, metrics, 'public');
    assert.equal(open.match('GET', '/metrics?x=1').access, 'public');
    metrics.close();
  });

  it('answers with the exposition text and its content type', async () => {
    const runtime = createRuntime();
    const metrics = createMetrics({ runtime, defaultMetrics: false });
    const router = new Router();
    addMetricsRoute(router, metrics);
    const server = createServer((req, res) => {
      const { handler, ctx } = router.match(req.method ?? 'GET', req.url ?? '/');
      void handler(req, res, ctx);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
      assert.equal(response.headers.get('cache-control'), 'no-store');
      const text = await response.text();
      assert.equal(Number(response.headers.get('content-length')), Buffer.byteLength(text));
      assert.match(text, /^agentfleet_agents\{state="running"\} 0$/m);
    } finally {
      server.close();
      metrics.close();
      await runtime.close();
    }
  });
});
