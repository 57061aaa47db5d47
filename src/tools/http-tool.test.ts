import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { throwsWithCode } from '../../test/helpers.ts';
import { httpTool, ToolRunner } from './index.ts';

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

async function readBody(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
}

describe('httpTool', () => {
  let server: Server;
  let base: string;
  let slowClosed = false;
  before(async () => {
    server = createServer(async (req, res) => {
      const body = await readBody(req);
      const seen: Seen = {
        method: req.method ?? '',
        url: req.url ?? '',
        authorization: req.headers.authorization,
        body,
      };
      if (req.url?.startsWith('/big')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('y'.repeat(5000));
      } else if (req.url?.startsWith('/missing')) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('no such order');
      } else if (req.url?.startsWith('/moved')) {
        res.writeHead(302, { location: 'http://example.invalid/' });
        res.end();
      } else if (req.url?.startsWith('/slow')) {
        res.on('close', () => {
          slowClosed = true;
        });
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(seen));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const orderSchema = {
    type: 'object',
    properties: {
      id: { type: 'string' },
      status: { type: 'string' },
      tags: { type: 'array', items: { type: 'string' } },
    },
    required: ['id'],
  };
  const run = async (tool: ReturnType<typeof httpTool>, args: unknown) => {
    const [outcome] = await new ToolRunner([tool]).run([
      { id: 'c', name: tool.name, arguments: JSON.stringify(args) },
    ]);
    return outcome!;
  };

  it('GET: placeholders URL-encoded, other arguments in the query, headers sent, JSON parsed', async () => {
    const tool = httpTool({
      name: 'order',
      description: 'Reads an order',
      inputSchema: orderSchema,
      url: `${base}/orders/{id}`,
      headers: { authorization: 'Bearer s3cret' },
    });
    const outcome = await run(tool, { id: 'a/b c?', status: 'open', tags: ['x', 'y'] });
    assert.equal(outcome.error, undefined);
    const result = outcome.value as { status: number; body: Seen };
    assert.equal(result.status, 200);
    assert.equal(result.body.method, 'GET');
    assert.equal(result.body.url, '/orders/a%2Fb%20c%3F?status=open&tags=x&tags=y');
    assert.equal(result.body.authorization, 'Bearer s3cret');
  });

  it('POST: the arguments not in the URL are the JSON body (zod parameters work too)', async () => {
    const tool = httpTool({
      name: 'create',
      description: 'Creates an item',
      parameters: z.object({ list: z.string(), title: z.string(), n: z.number() }),
      method: 'POST',
      url: `${base}/lists/{list}/items`,
    });
    const outcome = await run(tool, { list: 'l1', title: 'milk', n: 2 });
    const body = (outcome.value as { body: Seen }).body;
    assert.equal(body.method, 'POST');
    assert.equal(body.url, '/lists/l1/items');
    assert.deepEqual(JSON.parse(body.body), { title: 'milk', n: 2 });
  });

  it('non-2xx and redirects are tool errors with the status; bad arguments never reach the server', async () => {
    const missing = await run(
      httpTool({ name: 'm', description: '', inputSchema: orderSchema, url: `${base}/missing/{id}` }),
      { id: '1' },
    );
    assert.equal(missing.error?.code, 'TOOL_FAILED');
    assert.match(
      missing.error?.message ?? '',
      /TOOL_HTTP_STATUS: GET .*\/missing\/1 answered 404: no such order/,
    );
    const moved = await run(
      httpTool({ name: 'r', description: '', inputSchema: orderSchema, url: `${base}/moved/{id}` }),
      {
        id: '1',
      },
    );
    assert.match(moved.error?.message ?? '', /TOOL_HTTP_STATUS: .* answered 302/);
    const bad = await run(
      httpTool({ name: 'b', description: '', inputSchema: orderSchema, url: `${base}/x/{id}` }),
      {
        id: 7,
      },
    );
    assert.equal(bad.error?.code, 'TOOL_ARGUMENTS_INVALID');
  });

  it('a body over maxResponseBytes is cut with a marker, or is TOOL_HTTP_TOO_LARGE', async () => {
    const schema = { type: 'object', properties: {} };
    const cut = await run(
      httpTool({
        name: 'big',
        description: '',
        inputSchema: schema,
        url: `${base}/big`,
        maxResponseBytes: 100,
      }),
      {},
    );
    const value = cut.value as { body: string; truncated?: true };
    assert.equal(value.truncated, true);
    assert.equal(value.body, `${'y'.repeat(100)}\n…[truncated at 100 bytes]`);
    const refused = await run(
      httpTool({
        name: 'big',
        description: '',
        inputSchema: schema,
        url: `${base}/big`,
        maxResponseBytes: 100,
        onTooLarge: 'error',
      }),
      {},
    );
    assert.match(refused.error?.message ?? '', /TOOL_HTTP_TOO_LARGE: The response is larger than 100 bytes/);
  });

  it('times out through the runner, aborting the request; a closed port is TOOL_HTTP_FAILED', async () => {
    const schema = { type: 'object', properties: {} };
    const slow = await run(
      httpTool({ name: 'slow', description: '', inputSchema: schema, url: `${base}/slow`, timeoutMs: 100 }),
      {},
    );
    assert.equal(slow.error?.code, 'TOOL_TIMEOUT');
    for (let i = 0; i < 50 && !slowClosed; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(slowClosed, true, 'the server saw the request aborted');
    const closed = await run(
      httpTool({ name: 'closed', description: '', inputSchema: schema, url: 'http://127.0.0.1:1/x' }),
      {},
    );
    assert.match(
      closed.error?.message ?? '',
      /TOOL_HTTP_FAILED: GET http:\/\/127\.0\.0\.1:1\/x got no answer/,
    );
  });

  it('rejects templates that let the model choose the host, and placeholders that are not required', () => {
    const inputSchema = { type: 'object', properties: { host: { type: 'string' } }, required: ['host'] };
    for (const url of [
      'http://{host}/x',
      'https://api.{host}.example/x',
      'ftp://h/{host}',
      'http://h:{host}/',
    ]) {
      throwsWithCode(() => httpTool({ name: 't', description: '', inputSchema, url }), 'INVALID_OPTIONS');
    }
    throwsWithCode(
      () => httpTool({ name: 't', description: '', inputSchema: orderSchema, url: `${base}/{status}` }),
      'INVALID_OPTIONS',
    );
    throwsWithCode(
      () => httpTool({ name: 't', description: '', inputSchema, url: `${base}/{host}`, maxResponseBytes: 0 }),
      'INVALID_OPTIONS',
    );
  });
});
