import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { PrometheusMetricSource } from './prometheus-metric-source.ts';

/** A stand-in for Prometheus's HTTP API answering by `handler`; the real one is in test/integration. */
async function fakePrometheus(
  t: TestContext,
  handler: (query: string, res: ServerResponse, req: IncomingMessage) => void,
): Promise<string> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/api/v1/query') return void res.writeHead(404).end();
    handler(url.searchParams.get('query') ?? '', res, req);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const json = (res: ServerResponse, status: number, body: unknown) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
const vector = (...values: string[]) => ({
  status: 'success',
  data: { resultType: 'vector', result: values.map((v, i) => ({ metric: { i: String(i) }, value: [1, v] })) },
});

describe('PrometheusMetricSource', () => {
  it('sums a vector, reads a scalar, and gives no-data for an empty vector or NaN', async (t) => {
    const url = await fakePrometheus(t, (query, res) => {
      if (query === 'two') return json(res, 200, vector('1.5', '2'));
      if (query === 'scalar(1)')
        return json(res, 200, { status: 'success', data: { resultType: 'scalar', result: [1, '7'] } });
      if (query === 'nan') return json(res, 200, vector('NaN'));
      if (query === 'inf') return json(res, 200, vector('+Inf', 'NaN'));
      json(res, 200, vector());
    });
    const source = new PrometheusMetricSource({ url: `${url}/` });
    const readings = await source.read(['two', 'scalar(1)', 'none', 'nan', 'inf']);
    assert.deepEqual(
      readings.map((r) => [r.query, r.status, r.value]),
      [
        ['two', 'ok', 3.5],
        ['scalar(1)', 'ok', 7],
        ['none', 'no-data', undefined],
        ['nan', 'no-data', undefined],
        ['inf', 'ok', Number.POSITIVE_INFINITY],
      ],
    );
  });

  it('types its failures: bad_data and a matrix are QUERY_INVALID; 503, bad bodies, oversize and slowness SOURCE_UNAVAILABLE', async (t) => {
    const url = await fakePrometheus(t, (query, res) => {
      if (query === 'bad')
        return json(res, 400, { status: 'error', errorType: 'bad_data', error: 'parse error' });
      if (query === 'matrix')
        return json(res, 200, { status: 'success', data: { resultType: 'matrix', result: [] } });
      if (query === 'down')
        return json(res, 503, { status: 'error', errorType: 'unavailable', error: 'shutting down' });
      if (query === 'html') return void res.writeHead(502).end('<html>bad gateway</html>');
      if (query === 'big')
        return json(res, 200, { status: 'success', padding: 'x'.repeat(5000), data: vector('1').data });
      if (query === 'slow') return; // never answers
      json(res, 200, { status: 'success', data: { resultType: 'vector', result: 'nope' } });
    });
    const source = new PrometheusMetricSource({ url, timeoutMs: 300, maxResponseBytes: 1000 });
    const readings = await source.read(['bad', 'matrix', 'down', 'html', 'big', 'slow', 'odd']);
    const codes = Object.fromEntries(readings.map((r) => [r.query, [r.status, r.error?.code]]));
    assert.deepEqual(codes, {
      bad: ['error', 'AUTOSCALE_QUERY_INVALID'],
      matrix: ['error', 'AUTOSCALE_QUERY_INVALID'],
      down: ['error', 'AUTOSCALE_SOURCE_UNAVAILABLE'],
      html: ['error', 'AUTOSCALE_SOURCE_UNAVAILABLE'],
      big: ['error', 'AUTOSCALE_SOURCE_UNAVAILABLE'],
      slow: ['error', 'AUTOSCALE_SOURCE_UNAVAILABLE'],
      odd: ['error', 'AUTOSCALE_SOURCE_UNAVAILABLE'],
    });
    const messages = Object.fromEntries(readings.map((r) => [r.query, r.error?.message]));
    assert.match(messages.bad!, /bad_data: parse error/);
    assert.match(messages.big!, /over the 1000-byte limit/);
    assert.match(messages.slow!, /did not answer in 300 ms/);
    assert.equal(source.status().state, 'unavailable');
  });

  it('sends its headers, and rejects with ABORTED when the caller aborts', async (t) => {
    let auth: string | undefined;
    const url = await fakePrometheus(t, (query, res, req) => {
      auth = req.headers.authorization;
      if (query === 'slow') return;
      json(res, 200, vector('1'));
    });
    const source = new PrometheusMetricSource({ url, headers: { authorization: 'Bearer s3cret' } });
    assert.equal((await source.read(['up']))[0]?.value, 1);
    assert.equal(auth, 'Bearer s3cret');
    const controller = new AbortController();
    const pending = source.read(['slow'], controller.signal);
    controller.abort();
    await assert.rejects(pending, { code: 'ABORTED' });
  });

  it('refuses bad options naming the field', () => {
    assert.throws(() => new PrometheusMetricSource({ url: 'not a url' }), {
      code: 'INVALID_OPTIONS',
      message: /url/,
    });
    assert.throws(() => new PrometheusMetricSource({ url: 'http://x', timeoutMs: 0 }), {
      message: /timeoutMs/,
    });
  });
});
