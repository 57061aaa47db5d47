// What node:http cannot parse gets a JSON answer with the right status; HEAD and 405 follow HTTP.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { actAgent } from '../agents/index.ts';
import { createRuntime, defineAgent, type Runtime } from '../core/index.ts';
import { AgentfleetServer } from './http-server.ts';

/** Writes raw bytes, reads until the server closes the connection, and splits the answer. */
async function raw(
  port: number,
  bytes: string,
): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const socket = connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  let text = '';
  socket.on('data', (chunk: string) => {
    text += chunk;
  });
  socket.write(bytes);
  await new Promise<void>((resolve, reject) => {
    socket.once('end', resolve);
    socket.once('error', reject);
  });
  socket.destroy();
  const split = text.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = text.slice(0, split).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine!.split(' ')[1]), headers, body: text.slice(split + 4) };
}

function call(
  port: number,
  method: string,
  path: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HTTP protocol errors and methods', () => {
  let runtime: Runtime;
  let server: AgentfleetServer;
  let port: number;
  before(async () => {
    runtime = createRuntime();
    await runtime.spawn(defineAgent({ name: 'echo', decide: (input: unknown) => input }), { id: 'e1' });
    await runtime.spawn(actAgent, { id: 'act' });
    server = new AgentfleetServer({
      runtime,
      auth: { authenticator: 'none' },
      actAgentId: 'act',
      requestTimeoutMs: 300,
    });
    port = (await server.listen(0, '127.0.0.1')).port;
  });
  after(async () => {
    await server.close();
    await runtime.close();
  });

  it('answers headers over the limit with 431 and a JSON error', async () => {
    const reply = await raw(port, `GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.equal(reply.status, 431);
    assert.equal(reply.headers.connection, 'close');
    assert.match(reply.headers['content-type']!, /^application\/json/);
    assert.equal(JSON.parse(reply.body).error.code, 'HEADERS_TOO_LARGE');
  });

  it('answers a request not sent whole within the request timeout with 408 and a JSON error', async () => {
    const reply = await raw(port, 'GET /healthz HTTP/1.1\r\nhost: x\r\n'); // the headers never end
    assert.equal(reply.status, 408);
    assert.equal(reply.headers.connection, 'close');
    assert.equal(JSON.parse(reply.body).error.code, 'REQUEST_TIMEOUT');
  });

  it('answers bytes that are not HTTP with 400 and a JSON error', async () => {
    const reply = await raw(port, 'HELLO THERE\r\n\r\n');
    assert.equal(reply.status, 400);
    assert.equal(JSON.parse(reply.body).error.code, 'INVALID_REQUEST');
  });

  it('serves HEAD on every GET route: the headers, no body', async () => {
    for (const path of ['/healthz', '/v1/agents', '/v1/agents/e1', '/act']) {
      const get = await call(port, 'GET', path);
      const head = await call(port, 'HEAD', path);
      assert.equal(head.status, get.status, path);
      assert.equal(head.body, '', path);
      assert.equal(head.headers['content-type'], get.headers['content-type'], path);
      assert.equal(head.headers['content-length'], get.headers['content-length'], path);
    }
  });

  it("answers 405 with Allow listing the path's methods", async () => {
    const act = await call(port, 'DELETE', '/act');
    assert.equal(act.status, 405);
    assert.equal(act.headers.allow, 'GET, HEAD, POST');
    assert.equal(JSON.parse(act.body).error.code, 'METHOD_NOT_ALLOWED');
    const agent = await call(port, 'PUT', '/v1/agents/e1');
    assert.equal(agent.status, 405);
    assert.equal(agent.headers.allow, 'DELETE, GET, HEAD');
    const health = await call(port, 'POST', '/healthz');
    assert.equal(health.headers.allow, 'GET, HEAD');
  });
});
