import { z } from 'zod';
import { RUN_ID_PATTERN, type RunService, runNotFound, runStatusSchema } from '../../runs/index.ts';
import { agentId } from '../agent-id.ts';
import type { EventStreamOptions } from '../event-stream.ts';
import { sendJson } from '../http-errors.ts';
import { parseRequest } from '../parse-request.ts';
import { readJsonBody } from '../read-json-body.ts';
import type { Router } from '../router.ts';
import { streamRunEvents } from './run-events.ts';

const listQuery = z.strictObject({
  status: runStatusSchema.optional(),
  limit: z.coerce.number().int().min(1).max(1_000).default(100),
  /** The `next` of the previous page. */
  before: z.string().regex(RUN_ID_PATTERN, 'must be a run id').optional(),
});
const cancelBody = z.strictObject({ reason: z.string().min(1).max(4096).optional() }).default({});
const eventsQuery = z.strictObject({ after: z.string().max(40).optional() });

/** A run id from a path: one that cannot be a run's is simply not found (no store is asked). */
export function runIdOf(id: string | undefined): string {
  if (id === undefined || !RUN_ID_PATTERN.test(id)) throw runNotFound(String(id).slice(0, 64));
  return id;
}

/**
 * Durable runs over HTTP, in the caller's tenant (another tenant's run is `RUN_NOT_FOUND`):
 * a run's header, an agent's runs newest first, an explicit cancel, and the run's events as
 * server-sent events that a reconnect resumes with `Last-Event-ID`.
 */
export function addRunRoutes(
  router: Router,
  runs: RunService,
  bodyLimitBytes: number,
  streams: EventStreamOptions = {},
): void {
  router.add('GET', '/v1/runs/:id', async (_req, res, { params }) => {
    sendJson(res, 200, await runs.get(runIdOf(params.id)));
  });

  router.add('GET', '/v1/agents/:id/runs', async (_req, res, { params, query }) => {
    const id = agentId(params.id);
    const options = parseRequest(listQuery, Object.fromEntries(query), 'query');
    const page = await runs.list({ agentId: id, ...options });
    const next = page.length === options.limit ? (page.at(-1)?.id ?? null) : null;
    sendJson(res, 200, { runs: page, next });
  });

  router.add('POST', '/v1/runs/:id/cancel', async (req, res, { params }) => {
    const id = runIdOf(params.id);
    const body = parseRequest(cancelBody, await readJsonBody(req, bodyLimitBytes), 'body');
    sendJson(res, 200, await runs.cancel(id, body.reason));
  });

  router.add('GET', '/v1/runs/:id/events', async (req, res, { params, query }) => {
    const id = runIdOf(params.id);
    const { after } = parseRequest(eventsQuery, Object.fromEntries(query), 'query');
    const header = req.headers['last-event-id'];
    await streamRunEvents(req, res, runs, id, typeof header === 'string' ? header : after, streams);
  });
}
