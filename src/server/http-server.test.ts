import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { TEST_ADMIN_KEY } from '../../test/server-auth.ts';
import { loadServerConfig } from '../config/index.ts';
import { defineAgent } from '../core/index.ts';
import { type RunningServer, startServer } from './start-server.ts';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies of many shapes
  body: any;
}

function call(
  port: number,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
) {
  return new Promise<Reply>((resolve, reject) => {
    const all = { authorization: `Bearer ${TEST_ADMIN_KEY}`, ...headers };
    const req = request({ host: '127.0.0.1', port, method, path, headers: all, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: text ? JSON.parse(text) : undefined }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

const json = { 'content-type': 'application/json' };
let app: RunningServer;
let port: number;

before(async () => {
  app = await startServer(
    loadServerConfig(
      {},
      { port: 0, host: '127.0.0.1', logLevel: 'silent', bodyLimitBytes: 1024, adminKey: TEST_ADMIN_KEY },
    ),
    pino({ level: 'silent' }),
  );
  port = app.port;
  app.runtime.register(defineAgent({ name: 'echo', decide: (input: unknown) => ({ echoed: input }) }));
});
after(async () => {
  await app.shutdown();
});

describe('/act', () => {
  it('executes with X-Trusted: true, on GET and POST', async () => {
    for (const method of ['GET', 'POST']) {
      const reply = await call(port, method, '/act', undefined, { 'x-trusted': 'true' });
      assert.equal(reply.status, 200);
      assert.equal(reply.body.status, 'EXECUTED');
      assert.equal(reply.body.reason, 'Auth passed');
      assert.ok(Math.abs(reply.body.timestamp - Date.now() / 1000) < 5, 'timestamp is Unix seconds');
      assert.equal(reply.headers['content-type'], 'application/json; charset=utf-8');
    }
  });

  it('rejects without the header or with another value', async () => {
    const variants: Record<string, string>[] = [{}, { 'x-trusted': 'false' }, { 'x-trusted': 'TRUE ' }];
    for (const headers of variants) {
      const reply = await call(port, 'GET', '/act', undefined, headers);
      assert.equal(reply.status, 200);
      assert.deepEqual(Object.keys(reply.body), ['status', 'reason', 'timestamp']);
      assert.equal(reply.body.status, 'REJECTED');
      assert.equal(reply.body.reason, 'Missing trust header');
    }
  });

  it('goes through the runtime: the act agent counts the messages', async () => {
    const before = app.runtime.agent('act').info().handled;
    await call(port, 'GET', '/act?x=1');
    assert.equal(app.runtime.agent('act').info().handled, before + 1);
  });

  it('answers 400 to a malformed JSON body, 413 to a large one, 415 to a non-JSON one', async () => {
    const bad = await call(port, 'POST', '/act', '{"a":', json);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'INVALID_JSON');
    const big = await call(port, 'POST', '/act', JSON.stringify({ pad: 'x'.repeat(2000) }), json);
    assert.equal(big.status, 413);
    assert.equal(big.body.error.code, 'BODY_TOO_LARGE');
    const text = await call(port, 'POST', '/act', 'hello', { 'content-type': 'text/plain' });
    assert.equal(text.status, 415);
    assert.equal(text.body.error.code, 'UNSUPPORTED_MEDIA_TYPE');
  });
});

describe('probes and routing', () => {
  it('answers /healthz and /readyz', async () => {
    assert.deepEqual((await call(port, 'GET', '/healthz')).body, { status: 'ok' });
    assert.equal((await call(port, 'GET', '/readyz')).status, 200);
  });

  it('answers 404 and 405 as JSON errors', async () => {
    const missing = await call(port, 'GET', '/nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'NOT_FOUND');
    const wrong = await call(port, 'DELETE', '/act');
    assert.equal(wrong.status, 405);
    assert.equal(wrong.body.error.code, 'METHOD_NOT_ALLOWED');
    const wrongParam = await call(port, 'PUT', '/v1/agents/x');
    assert.equal(wrongParam.status, 405);
  });
});

describe('agents API', () => {
  it('creates, inspects, messages, stops and removes an agent', async () => {
    const created = await call(
      port,
      'POST',
      '/v1/agents',
      JSON.stringify({ definition: 'echo', id: 'e1' }),
      json,
    );
    assert.equal(created.status, 201);
    assert.equal(created.headers.location, '/v1/agents/e1');
    assert.equal(created.body.state, 'running');

    const message = await call(
      port,
      'POST',
      '/v1/agents/e1/messages',
      JSON.stringify({ input: { hi: 1 } }),
      json,
    );
    assert.deepEqual(message.body, { output: { echoed: { hi: 1 } } });

    const listed = await call(port, 'GET', '/v1/agents?definition=echo');
    assert.deepEqual(
      listed.body.agents.map((a: { id: string }) => a.id),
      ['e1'],
    );
    assert.equal((await call(port, 'GET', '/v1/agents/e1')).body.handled, 1);

    const stopped = await call(port, 'POST', '/v1/agents/e1/stop', JSON.stringify({ timeoutMs: 100 }), json);
    assert.equal(stopped.body.agent.state, 'stopped');
    const late = await call(port, 'POST', '/v1/agents/e1/messages', JSON.stringify({ input: 1 }), json);
    assert.equal(late.status, 409);
    assert.equal(late.body.error.code, 'AGENT_NOT_RUNNING');
    const restart = await call(port, 'POST', '/v1/agents/e1/start');
    assert.equal(restart.status, 409);
    assert.equal(restart.body.error.code, 'ILLEGAL_TRANSITION');

    assert.equal((await call(port, 'DELETE', '/v1/agents/e1')).status, 200);
    assert.equal((await call(port, 'GET', '/v1/agents/e1')).status, 404);
  });

  it('creates a pending agent when start is false', async () => {
    const created = await call(
      port,
      'POST',
      '/v1/agents',
      JSON.stringify({ definition: 'echo', start: false }),
      json,
    );
    assert.equal(created.body.state, 'pending');
    const started = await call(port, 'POST', `/v1/agents/${created.body.id}/start`);
    assert.equal(started.body.state, 'running');
  });

  it('validates every request with typed errors', async () => {
    const cases: Array<[string, string, string | undefined, number, string]> = [
      ['POST', '/v1/agents', JSON.stringify({ definition: 'nope' }), 404, 'DEFINITION_NOT_FOUND'],
      ['POST', '/v1/agents', JSON.stringify({ id: 'x' }), 400, 'INVALID_REQUEST'],
      ['POST', '/v1/agents', JSON.stringify({ definition: 'echo', extra: true }), 400, 'INVALID_REQUEST'],
      ['POST', '/v1/agents', JSON.stringify({ definition: 'echo', id: 'bad id!' }), 400, 'INVALID_INPUT'],
      ['POST', '/v1/agents', '[1,2', 400, 'INVALID_JSON'],
      ['POST', '/v1/agents', undefined, 400, 'INVALID_REQUEST'],
      [
        'POST',
        '/v1/agents/act/messages',
        JSON.stringify({ input: { trustHeader: 5 } }),
        400,
        'INVALID_INPUT',
      ],
      ['POST', '/v1/agents/ghost/messages', JSON.stringify({ input: 1 }), 404, 'AGENT_NOT_FOUND'],
      ['POST', '/v1/agents/act/stop', JSON.stringify({ timeoutMs: -1 }), 400, 'INVALID_REQUEST'],
      ['GET', '/v1/agents?limit=0', undefined, 400, 'INVALID_REQUEST'],
      ['GET', '/v1/agents?state=sleeping', undefined, 400, 'INVALID_REQUEST'],
      ['GET', '/v1/agents/%E0%A4%A', undefined, 404, 'NOT_FOUND'],
    ];
    for (const [method, path, body, status, code] of cases) {
      const reply = await call(port, method, path, body, json);
      assert.equal(reply.status, status, `${method} ${path} ${body}`);
      assert.equal(reply.body.error.code, code, `${method} ${path} ${body}`);
      assert.equal(typeof reply.body.error.message, 'string');
    }
    assert.equal(app.runtime.agent('act').state, 'running', 'bad requests did not disturb the act agent');
  });

  it('lists definitions and stats', async () => {
    const defs = await call(port, 'GET', '/v1/definitions');
    assert.ok(defs.body.definitions.some((d: { name: string }) => d.name === 'act'));
    const stats = await call(port, 'GET', '/v1/stats');
    assert.ok(stats.body.agents.running >= 1);
    assert.equal(typeof stats.body.pool.capacity, 'number');
  });
});

describe('shutdown', () => {
  it('finishes in-flight requests, then refuses new connections', async () => {
    const own = await startServer(
      loadServerConfig({}, { port: 0, host: '127.0.0.1', logLevel: 'silent', adminKey: TEST_ADMIN_KEY }),
      pino({ level: 'silent' }),
    );
    const gate = Promise.withResolvers<void>();
    await own.runtime.spawn(
      defineAgent({
        name: 'slow',
        decide: async () => {
          await gate.promise;
          return 'done';
        },
      }),
      {
        id: 'slow',
      },
    );
    const pending = call(own.port, 'POST', '/v1/agents/slow/messages', JSON.stringify({ input: 1 }), json);
    while (own.server.inFlight === 0) await new Promise((r) => setImmediate(r));
    const closing = own.shutdown();
    // Shutdown has begun (new connections are refused) and the request is still being served.
    await assert.rejects(call(own.port, 'GET', '/healthz'), /ECONNREFUSED/);
    assert.equal(own.server.inFlight, 1, 'the request is still being served');
    gate.resolve();
    assert.deepEqual((await pending).body, { output: 'done' });
    await closing;
    await assert.rejects(call(own.port, 'GET', '/healthz'), /ECONNREFUSED/);
  });
});
