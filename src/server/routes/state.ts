import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Bus, Envelope } from '../../bus/index.ts';
import { type AgentFleet, requireAgent } from '../../cluster/index.ts';
import { currentTenantId } from '../../context/index.ts';
import { deltaTopic, expiredTopic } from '../../state/index.ts';
import { agentId } from '../agent-id.ts';
import { EventStream, type EventStreamOptions } from '../event-stream.ts';
import { sendJson } from '../http-errors.ts';
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
  fleet: AgentFleet,
  bus: Bus,
  bodyLimitBytes: number,
  streams: EventStreamOptions,
): void {
  // AGENT_NOT_FOUND for unknown ids and other tenants' agents; in a cluster, answered by the
  // node the agent is active on.
  router.add('GET', '/v1/agents/:id/state', async (_req, res, { params }) => {
    sendJson(res, 200, await fleet.state(agentId(params.id), { op: 'get' }));
  });

  router.add('PATCH', '/v1/agents/:id/state', async (req, res, { params }) => {
    const id = agentId(params.id);
    const { values, tags } = parseRequest(patchBody, await readJsonBody(req, bodyLimitBytes), 'body');
    sendJson(res, 200, await fleet.state(id, { op: 'patch', values, tags }));
  });

  router.add('DELETE', '/v1/agents/:id/state', async (_req, res, { params }) => {
    sendJson(res, 200, await fleet.state(agentId(params.id), { op: 'delete' }));
  });

  router.add('GET', '/v1/agents/:id/state/stream', async (req, res, { params }) => {
    const id = agentId(params.id);
    await requireAgent(fleet, id);
    await streamDeltas(req, res, bus, id, streams);
  });
}

/**
 * Streams `state_delta` (and `state_expired`) messages of one agent as SSE until the client
 * leaves. The subscriptions are made in the request's tenant, so the bus itself keeps every
 * other tenant's messages out, even for an agent of the same id. In the system scope (the
 * admin without `X-Agentfleet-Tenant`) the subscription would see every tenant's messages,
 * so only messages without a tenant (those of the system agent it addressed) are sent.
 * A client that left before the stream opened gets no subscription at all.
 */
async function streamDeltas(
  req: IncomingMessage,
  res: ServerResponse,
  bus: Bus,
  agentId: string,
  options: EventStreamOptions,
): Promise<void> {
  const stream = EventStream.open(req, res, options);
  if (stream === undefined) return;
  stream.comment('connected');
  const tenant = currentTenantId();
  const forward = (name: string) => (message: Envelope) => {
    if (message.tenant !== tenant) return;
    stream.send(name, message.payload);
    return stream.ready();
  };
  const subscribe = { whenFull: 'drop-oldest', buffer: 256, signal: stream.signal } as const;
  const subscriptions = await Promise.all([
    bus.subscribe(deltaTopic(agentId), forward('delta'), subscribe),
    bus.subscribe(expiredTopic(agentId), forward('expired'), subscribe),
  ]);
  await stream.ended;
  await Promise.all(subscriptions.map((s) => s.close({ drain: false })));
}
