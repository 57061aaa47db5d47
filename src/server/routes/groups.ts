import { z } from 'zod';
import { formatIssues } from '../../errors/index.ts';
import { type AgentGroups, GroupNotFoundError } from '../../groups/index.ts';
import { HttpError, sendJson } from '../http-errors.ts';
import { readJsonBody } from '../read-json-body.ts';
import type { Router } from '../router.ts';

const createSchema = z.strictObject({
  id: z.string().min(1).max(120),
  definition: z.string().min(1).max(128),
  replicas: z.number().int().min(1).max(10_000).optional(),
  config: z.unknown().optional(),
});
const scaleSchema = z.strictObject({ replicas: z.number().int().min(1).max(10_000) });
const messageSchema = z.strictObject({ input: z.unknown() });

function parse<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success)
    throw new HttpError('INVALID_REQUEST', `Invalid ${what}: ${formatIssues(parsed.error).join('; ')}`);
  return parsed.data;
}

/**
 * Agent groups of the caller's tenant (N replicas of a definition behind one address, on this
 * node): `POST /v1/groups` `{ id, definition, replicas? }`, `GET /v1/groups`, `GET|DELETE
 * /v1/groups/:id`, `PATCH /v1/groups/:id` `{ replicas }` (scale; retired replicas drain), and
 * `POST /v1/groups/:id/messages` `{ input }` (to the least-loaded replica).
 */
export function addGroupRoutes(router: Router, groups: AgentGroups, bodyLimitBytes: number): void {
  const find = (id: string) => {
    const group = groups.get(id);
    if (group === undefined) throw new GroupNotFoundError(id);
    return group;
  };
  const view = (id: string) => {
    const group = find(id);
    return { id: group.id, size: group.size, replicas: group.replicas() };
  };
  router.add('POST', '/v1/groups', async (req, res) => {
    const body = parse(createSchema, await readJsonBody(req, bodyLimitBytes), 'group');
    const group = await groups.open(body);
    sendJson(res, 201, view(group.id));
  });
  router.add('GET', '/v1/groups', async (_req, res) => {
    sendJson(res, 200, { groups: groups.list() });
  });
  router.add('GET', '/v1/groups/:id', async (_req, res, { params }) => {
    sendJson(res, 200, view(params.id!));
  });
  router.add('PATCH', '/v1/groups/:id', async (req, res, { params }) => {
    const { replicas } = parse(scaleSchema, await readJsonBody(req, bodyLimitBytes), 'scale');
    await find(params.id!).scale(replicas);
    sendJson(res, 200, view(params.id!));
  });
  router.add('DELETE', '/v1/groups/:id', async (_req, res, { params }) => {
    if (!(await groups.remove(params.id!))) throw new GroupNotFoundError(params.id!);
    sendJson(res, 200, { deleted: params.id });
  });
  router.add('POST', '/v1/groups/:id/messages', async (req, res, { params }) => {
    const { input } = parse(messageSchema, await readJsonBody(req, bodyLimitBytes), 'message');
    sendJson(res, 200, { output: await find(params.id!).send(input) });
  });
}
