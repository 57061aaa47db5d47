import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { currentTenantId } from '../../context/index.ts';
import {
  AGENT_STATES,
  type AgentStreamListener,
  type AgentStreamPart,
  type Runtime,
} from '../../core/index.ts';
import { newRunId, type RunService } from '../../runs/index.ts';
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
});

function wantsEventStream(req: IncomingMessage): boolean {
  return (req.headers.accept ?? '').includes('text/event-stream');
}

/**
 * Answers with server-sent events: each part the agent streams (`event: <type>`; a `progress`
 * part's event is its `name`),
 * then `event: result` with `{ output }`, or `event: error` with `{ error }`. The run is
 * cancelled when the stream ends early (the client left, or read too slowly and was dropped).
 */
async function streamMessage(
  req: IncomingMessage,
  res: ServerResponse,
  options: EventStreamOptions,
  send: (onEvent: AgentStreamListener, signal: AbortSignal) => Promise<unknown>,
): Promise<void> {
  const stream = EventStream.open(req, res, options);
  if (stream === undefined) return;
  try {
    const output = await send((part) => stream.send(partEventName(part), part), stream.signal);
    stream.send('result', { output: output === undefined ? null : output });
  } catch (error) {
    stream.send('error', { error: errorJson(error) });
  } finally {
    stream.close();
  }
}

/** The text a durable (LLM) run starts from: a string, or `{ content: string }`. @throws HttpError INVALID_REQUEST otherwise. */
function runInput(input: unknown): string {
  if (typeof input === 'string') return input;
  const content = (input as { content?: unknown } | null)?.content;
  if (typeof content === 'string') return content;
  throw new HttpError('INVALID_REQUEST', 'A durable agent takes a string input (or { content: string }).');
}

/**
 * A message to a durable agent, as a run of the node's `RunService` with a fresh id: the
 * answer (JSON or SSE) carries `runId`, the stream's first part is `run-start`, and a client
 * that leaves does not cancel the run (`POST /v1/runs/:id/cancel` does). A run that suspends
 * for approvals answers like any other (the agent's answer says `stoppedBy: 'awaiting-approval'`).
 */
async function sendDurable(
  req: IncomingMessage,
  res: ServerResponse,
  runs: RunService,
  id: string,
  input: unknown,
  streams: EventStreamOptions,
): Promise<void> {
  const text = runInput(input);
  const runId = newRunId();
  if (!wantsEventStream(req)) {
    const output = await runs.send(id, text, { runId });
    sendJson(res, 200, { runId, output: output === undefined ? null : output });
    return;
  }
  const stream = EventStream.open(req, res, streams);
  if (stream === undefined) return; // gone before anything started: no run
  try {
    const output = await runs.send(id, text, {
      runId,
      onEvent: (part) => stream.send(partEventName(part as AgentStreamPart), part),
    });
    stream.send('result', { runId, output: output === undefined ? null : output });
  } catch (error) {
    stream.send('error', { runId, error: errorJson(error) });
  } finally {
    stream.close();
  }
}

/** The JSON API to list, create, start, stop, message and remove agents. */
export function addAgentRoutes(
  router: Router,
  runtime: Runtime,
  bodyLimitBytes: number,
  streams: EventStreamOptions = {},
  tenantDefinitions?: Pick<TenantDefinitions, 'list'>,
  runs?: RunService,
): void {
  // The caller's own definitions (`scope: 'tenant'`, which shadow a node's of the same name),
  // then the node's shared ones (`scope: 'node'`).
  router.add('GET', '/v1/definitions', (_req, res) => {
    const tenant = currentTenantId();
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
    sendJson(res, 200, runtime.agent(agentId(params.id)).info());
  });

  router.add('POST', '/v1/agents/:id/start', async (_req, res, { params }) => {
    const agent = runtime.agent(agentId(params.id));
    await agent.start();
    sendJson(res, 200, agent.info());
  });

  router.add('POST', '/v1/agents/:id/stop', async (req, res, { params }) => {
    const agent = runtime.agent(agentId(params.id));
    const options = parseRequest(stopBody, await readJsonBody(req, bodyLimitBytes), 'body');
    const result = await agent.stop(options);
    sendJson(res, 200, { forced: result.forced, agent: agent.info() });
  });

  router.add('DELETE', '/v1/agents/:id', async (_req, res, { params }) => {
    const id = agentId(params.id);
    runtime.agent(id);
    const result = await runtime.remove(id);
    sendJson(res, 200, { removed: params.id, state: result?.state, forced: result?.forced ?? false });
  });

  router.add('POST', '/v1/agents/:id/messages', async (req, res, { params }) => {
    const id = agentId(params.id);
    const body = parseRequest(messageBody, await readJsonBody(req, bodyLimitBytes), 'body');
    const agent = runtime.agent(id); // AGENT_NOT_FOUND as a plain HTTP error, before any stream starts
    if (runs !== undefined && agent.durable) {
      await sendDurable(req, res, runs, id, body.input, streams);
      return;
    }
    // Not durable: the run lives only as long as its client, so a disconnect cancels it.
    if (wantsEventStream(req)) {
      await streamMessage(req, res, streams, (onEvent, signal) =>
        runtime.send(id, body.input, { signal, onEvent }),
      );
      return;
    }
    const output = await runtime.send(id, body.input, { signal: clientSignal(req, res) });
    sendJson(res, 200, { output: output === undefined ? null : output });
  });

  router.add('GET', '/v1/stats', (_req, res) => {
    const tenant = currentTenantId();
    // A tenant sees its own figures; the runtime-wide ones are the admin's.
    sendJson(res, 200, tenant === undefined ? runtime.stats() : { tenant, ...runtime.tenantUsage(tenant) });
  });
}
