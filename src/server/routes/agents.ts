import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { AGENT_STATES, type Runtime } from '../../core/index.ts';
import { currentTenantId } from '../../tenancy/index.ts';
import { errorJson, sendJson } from '../http-errors.ts';
import { parseRequest } from '../parse-request.ts';
import { readJsonBody } from '../read-json-body.ts';
import type { Router } from '../router.ts';

const createBody = z.strictObject({
  definition: z.string().min(1),
  id: z.string().optional(),
  config: z.unknown().optional(),
  start: z.boolean().default(true),
});
const stopBody = z
  .strictObject({
    timeoutMs: z.number().int().min(0).max(3_600_000).optional(),
    drain: z.boolean().optional(),
  })
  .default({});
const messageBody = z.strictObject({ input: z.unknown() });
const listQuery = z.strictObject({
  state: z.enum(AGENT_STATES as [string, ...string[]]).optional(),
  definition: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

/** Signal aborted when the client goes away before the response is sent. */
function clientSignal(req: IncomingMessage, res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) controller.abort(new Error('client closed the connection'));
  };
  res.once('close', onClose);
  req.once('error', onClose);
  return controller.signal;
}

function wantsEventStream(req: IncomingMessage): boolean {
  return (req.headers.accept ?? '').includes('text/event-stream');
}

/**
 * Answers with server-sent events: each progress event the agent emits (`event: <type>`),
 * then `event: result` with `{ output }`, or `event: error` with `{ error }`.
 */
async function streamMessage(
  res: ServerResponse,
  send: (onEvent: (event: unknown) => void) => Promise<unknown>,
): Promise<void> {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
  });
  const write = (name: string, data: unknown) => {
    if (!res.writableEnded && !res.destroyed) res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  try {
    const output = await send((event) => {
      const type = (event as { type?: unknown } | null)?.type;
      write(typeof type === 'string' && /^[a-z-]{1,40}$/.test(type) ? type : 'progress', event);
    });
    write('result', { output: output === undefined ? null : output });
  } catch (error) {
    write('error', { error: errorJson(error) });
  } finally {
    res.end();
  }
}

/** The JSON API to list, create, start, stop, message and remove agents. */
export function addAgentRoutes(router: Router, runtime: Runtime, bodyLimitBytes: number): void {
  router.add('GET', '/v1/definitions', (_req, res) => {
    sendJson(res, 200, {
      definitions: runtime
        .definitions()
        .map((d) => ({ name: d.name, description: d.description, concurrency: d.concurrency })),
    });
  });

  router.add('GET', '/v1/agents', (_req, res, { query }) => {
    const filters = parseRequest(listQuery, Object.fromEntries(query), 'query');
    sendJson(res, 200, {
      agents: runtime.list(filters as Parameters<Runtime['list']>[0]),
    });
  });

  router.add('POST', '/v1/agents', async (req, res) => {
    const body = parseRequest(createBody, await readJsonBody(req, bodyLimitBytes), 'body');
    const agent = runtime.create(body.definition, { id: body.id, config: body.config });
    if (body.start) await agent.start();
    sendJson(res, 201, agent.info(), ['location', `/v1/agents/${encodeURIComponent(agent.agentId)}`]);
  });

  router.add('GET', '/v1/agents/:id', (_req, res, { params }) => {
    sendJson(res, 200, runtime.agent(params.id!).info());
  });

  router.add('POST', '/v1/agents/:id/start', async (_req, res, { params }) => {
    const agent = runtime.agent(params.id!);
    await agent.start();
    sendJson(res, 200, agent.info());
  });

  router.add('POST', '/v1/agents/:id/stop', async (req, res, { params }) => {
    const agent = runtime.agent(params.id!);
    const options = parseRequest(stopBody, await readJsonBody(req, bodyLimitBytes), 'body');
    const result = await agent.stop(options);
    sendJson(res, 200, { forced: result.forced, agent: agent.info() });
  });

  router.add('DELETE', '/v1/agents/:id', async (_req, res, { params }) => {
    runtime.agent(params.id!);
    const result = await runtime.remove(params.id!);
    sendJson(res, 200, { removed: params.id, state: result?.state, forced: result?.forced ?? false });
  });

  router.add('POST', '/v1/agents/:id/messages', async (req, res, { params }) => {
    const body = parseRequest(messageBody, await readJsonBody(req, bodyLimitBytes), 'body');
    if (wantsEventStream(req)) {
      runtime.agent(params.id!); // AGENT_NOT_FOUND as a plain HTTP error, before the stream starts
      await streamMessage(res, (onEvent) =>
        runtime.send(params.id!, body.input, { signal: clientSignal(req, res), onEvent }),
      );
      return;
    }
    const output = await runtime.send(params.id!, body.input, { signal: clientSignal(req, res) });
    sendJson(res, 200, { output: output === undefined ? null : output });
  });

  router.add('GET', '/v1/stats', (_req, res) => {
    const tenant = currentTenantId();
    // A tenant sees its own figures; the runtime-wide ones are the admin's.
    sendJson(res, 200, tenant === undefined ? runtime.stats() : { tenant, ...runtime.tenantUsage(tenant) });
  });
}
