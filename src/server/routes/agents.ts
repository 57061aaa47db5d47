import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { TokenBudgetGate } from '../../budgets/index.ts';
import { type AgentFleet, durableRunInput, type FleetReply, requireAgent } from '../../cluster/index.ts';
import { currentTenantId } from '../../context/index.ts';
import { AGENT_STATES, type Runtime } from '../../core/index.ts';
import { newRunId } from '../../runs/index.ts';
import type { TenantDefinitions } from '../../spec/index.ts';
import { agentId } from '../agent-id.ts';
import { clientSignal } from '../client-signal.ts';
import { EventStream, type EventStreamOptions, partEventName } from '../event-stream.ts';
import { errorJson, HttpError, sendJson } from '../http-errors.ts';
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
  after: z.string().min(1).optional(),
});

function wantsEventStream(req: IncomingMessage): boolean {
  return (req.headers.accept ?? '').includes('text/event-stream');
}

/** `{ runId?, output }`: the reply of a message, with the run's id when the agent is durable. */
function replyJson(reply: FleetReply): { runId?: string; output: unknown } {
  const output = reply.output === undefined ? null : reply.output;
  return reply.runId === undefined ? { output } : { runId: reply.runId, output };
}

/**
 * Answers a message with server-sent events: each part the agent streams (`event: <type>`; a
 * `progress` part's event is its `name`), then `event: result` with `{ runId?, output }`, or
 * `event: error` with `{ runId?, error }`. A plain agent's message is cancelled when the stream
 * ends early (the client left, or read too slowly and was dropped); a durable agent's run is
 * not (`POST /v1/runs/:id/cancel` does that), and its first part is `run-start`.
 */
async function streamMessage(
  req: IncomingMessage,
  res: ServerResponse,
  options: EventStreamOptions,
  fleet: AgentFleet,
  id: string,
  input: unknown,
  durable: boolean,
): Promise<void> {
  const stream = EventStream.open(req, res, options);
  if (stream === undefined) return; // gone before anything started: no run
  const runId = durable ? newRunId() : undefined; // named before it starts, so an error names it too
  try {
    const reply = await fleet.send(id, input, {
      onEvent: (part) => stream.send(partEventName(part), part),
      ...(runId === undefined ? { signal: stream.signal } : { runId }),
    });
    stream.send('result', replyJson(reply));
  } catch (error) {
    stream.send(
      'error',
      runId === undefined ? { error: errorJson(error) } : { runId, error: errorJson(error) },
    );
  } finally {
    stream.close();
  }
}

/** The JSON API to list, create, start, stop, message and remove agents. */
export function addAgentRoutes(
  router: Router,
  runtime: Runtime,
  fleet: AgentFleet,
  bodyLimitBytes: number,
  streams: EventStreamOptions = {},
  tenantDefinitions?: Pick<TenantDefinitions, 'list' | 'sync'>,
  budgets?: Pick<TokenBudgetGate, 'spendOf'>,
): void {
  // The caller's own definitions (`scope: 'tenant'`, which shadow a node's of the same name),
  // then the node's shared ones (`scope: 'node'`). In a cluster the node first catches up with
  // the definitions store, so a definition put on another node is listed here too.
  router.add('GET', '/v1/definitions', async (_req, res) => {
    const tenant = currentTenantId();
    if (tenant !== undefined) await tenantDefinitions?.sync();
    const own =
      tenant === undefined || tenantDefinitions === undefined
        ? []
        : tenantDefinitions.list(tenant).map((d) => ({
            name: d.name,
            description: d.description,
            concurrency: d.concurrency,
            scope: 'tenant' as const,
          }));
    const shadowed = new Set(own.map((d) => d.name));
    const shared = runtime
      .definitions()
      .filter((d) => !shadowed.has(d.name))
      .map((d) => ({
        name: d.name,
        description: d.description,
        concurrency: d.concurrency,
        scope: 'node' as const,
      }));
    sendJson(res, 200, { definitions: [...own, ...shared] });
  });

  // On one node the listing is the runtime's (filters by state, paged by offset); in a cluster
  // it is the directory's, paged by `after` (the last id of the page before).
  router.add('GET', '/v1/agents', async (_req, res, { query }) => {
    const { after, ...filters } = parseRequest(listQuery, Object.fromEntries(query), 'query');
    if (!fleet.clustered && after === undefined) {
      sendJson(res, 200, { agents: runtime.list(filters as Parameters<Runtime['list']>[0]) });
      return;
    }
    if (filters.state !== undefined || filters.offset > 0)
      throw new HttpError(
        'INVALID_REQUEST',
        'A cluster lists agents by id, paged by "after" (the last id of the page before); "state" and "offset" are not served.',
      );
    const agents = await fleet.list({ limit: filters.limit, after, definition: filters.definition });
    const last = agents.length === filters.limit ? agents.at(-1)?.id : undefined;
    sendJson(res, 200, last === undefined ? { agents } : { agents, next: last });
  });

  router.add('POST', '/v1/agents', async (req, res) => {
    const body = parseRequest(createBody, await readJsonBody(req, bodyLimitBytes), 'body');
    const info = await fleet.create(body);
    sendJson(res, 201, info, ['location', `/v1/agents/${encodeURIComponent(info.id)}`]);
  });

  router.add('GET', '/v1/agents/:id', async (_req, res, { params }) => {
    sendJson(res, 200, await fleet.info(agentId(params.id)));
  });

  router.add('POST', '/v1/agents/:id/start', async (_req, res, { params }) => {
    sendJson(res, 200, await fleet.start(agentId(params.id)));
  });

  router.add('POST', '/v1/agents/:id/stop', async (req, res, { params }) => {
    const id = agentId(params.id);
    await requireAgent(fleet, id); // AGENT_NOT_FOUND before a bad body's 400
    const options = parseRequest(stopBody, await readJsonBody(req, bodyLimitBytes), 'body');
    sendJson(res, 200, await fleet.stop(id, options));
  });

  router.add('DELETE', '/v1/agents/:id', async (_req, res, { params }) => {
    const result = await fleet.remove(agentId(params.id));
    sendJson(res, 200, { removed: params.id, state: result.state, forced: result.forced });
  });

  router.add('POST', '/v1/agents/:id/messages', async (req, res, { params }) => {
    const id = agentId(params.id);
    const body = parseRequest(messageBody, await readJsonBody(req, bodyLimitBytes), 'body');
    // AGENT_NOT_FOUND, and a durable agent's bad input, as plain HTTP errors before any stream starts.
    const durable = (await fleet.info(id)).durable === true;
    if (durable) durableRunInput(body.input);
    if (wantsEventStream(req)) {
      await streamMessage(req, res, streams, fleet, id, body.input, durable);
      return;
    }
    // A plain agent's message lives only as long as its client: a disconnect cancels it. A
    // durable one's run id is a header too, so even an error (its node died) names the run.
    if (!durable) {
      sendJson(res, 200, replyJson(await fleet.send(id, body.input, { signal: clientSignal(req, res) })));
      return;
    }
    const runId = newRunId();
    res.setHeader('x-agentfleet-run-id', runId);
    sendJson(res, 200, replyJson(await fleet.send(id, body.input, { runId })));
  });

  router.add('GET', '/v1/stats', (_req, res) => {
    const tenant = currentTenantId();
    // A tenant sees its own figures; the runtime-wide ones are the admin's. In a cluster,
    // `cluster` has the tenant's agents and messages over every node beside this node's.
    if (tenant === undefined) {
      sendJson(res, 200, runtime.stats());
      return;
    }
    const cluster = fleet.clusterUsage?.(tenant);
    // `spend`: tokens and cost of its model calls in its budget period (over the cluster).
    const spend = budgets?.spendOf(tenant);
    sendJson(res, 200, {
      tenant,
      ...runtime.tenantUsage(tenant),
      ...(cluster === undefined ? {} : { cluster }),
      ...(spend === undefined ? {} : { spend }),
    });
  });
}
