import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Bus, Envelope } from '../../bus/index.ts';
import type { Runtime } from '../../core/index.ts';
import { type AgentStateStore, deltaTopic, expiredTopic } from '../../state/index.ts';
import { HttpError, sendJson } from '../http-errors.ts';
import { parseRequest } from '../parse-request.ts';
import { readJsonBody } from '../read-json-body.ts';
import type { Router } from '../router.ts';

const patchBody = z
  .strictObject({
    values: z.record(z.string(), z.unknown()).optional(),
    tags: z.array(z.string()).max(64).optional(),
  })
  .refine((b) => b.values !== undefined || b.tags !== undefined, 'send values, tags or both');

/**
 * Per-agent state over HTTP, in the caller's tenant: read, patch (values and context tags),
 * delete, and a live stream of the agent's deltas as server-sent events.
 */
export function addStateRoutes(
  router: Router,
  runtime: Runtime,
  store: AgentStateStore,
  bus: Bus,
  bodyLimitBytes: number,
  stopping: AbortSignal,
): void {
  router.add('GET', '/v1/agents/:id/state', (_req, res, { params }) => {
    runtime.agent(params.id!); // AGENT_NOT_FOUND for unknown ids and other tenants' agents
    const snapshot = store.get(params.id!);
    if (snapshot === undefined)
      throw new HttpError('STATE_NOT_FOUND', `Agent "${params.id}" has no state (none yet, or it expired).`);
    sendJson(res, 200, snapshot);
  });

  router.add('PATCH', '/v1/agents/:id/state', async (req, res, { params }) => {
    runtime.agent(params.id!);
    const { values, tags } = parseRequest(patchBody, await readJsonBody(req, bodyLimitBytes), 'body');
    const tagged = tags === undefined ? undefined : store.setTags(params.id!, tags);
    const updated = values === undefined ? undefined : store.set(params.id!, values);
    const last = updated ?? tagged!;
    sendJson(res, 200, {
      version: last.version,
      changed: updated?.changed ?? [],
      removed: updated?.removed ?? [],
      published: [...new Set([...(tagged?.published ?? []), ...(updated?.published ?? [])])],
    });
  });

  router.add('DELETE', '/v1/agents/:id/state', (_req, res, { params }) => {
    runtime.agent(params.id!);
    sendJson(res, 200, { deleted: store.delete(params.id!) });
  });

  router.add('GET', '/v1/agents/:id/state/stream', async (req, res, { params }) => {
    runtime.agent(params.id!);
    await streamDeltas(req, res, bus, params.id!, stopping);
  });
}

/**
 * Streams `state_delta` (and `state_expired`) messages of one agent as SSE until the client
 * leaves. The subscriptions are made in the request's tenant, so the bus itself keeps every
 * other tenant's messages out, even for an agent of the same id.
 */
async function streamDeltas(
  req: IncomingMessage,
  res: ServerResponse,
  bus: Bus,
  agentId: string,
  stopping: AbortSignal,
): Promise<void> {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
  });
  res.write(': connected\n\n');
  const write = (name: string) => (message: Envelope) => {
    if (!res.writableEnded && !res.destroyed)
      res.write(`event: ${name}\ndata: ${JSON.stringify(message.payload)}\n\n`);
  };
  const subscriptions = await Promise.all([
    bus.subscribe(deltaTopic(agentId), write('delta'), { whenFull: 'drop-oldest' }),
    bus.subscribe(expiredTopic(agentId), write('expired'), { whenFull: 'drop-oldest' }),
  ]);
  await new Promise<void>((resolve) => {
    const done = () => {
      stopping.removeEventListener('abort', done);
      resolve();
    };
    res.once('close', done);
    req.once('error', done);
    stopping.addEventListener('abort', done, { once: true });
    if (stopping.aborted) done();
  });
  await Promise.all(subscriptions.map((s) => s.close({ drain: false })));
  res.end();
}
