import type { IncomingMessage } from 'node:http';
import { requireTenant } from '../../context/index.ts';
import { AgentfleetError } from '../../errors/index.ts';
import type { TenantDefinitions } from '../../spec/index.ts';
import { HttpError, sendJson } from '../http-errors.ts';
import { readBodyText } from '../read-json-body.ts';
import type { Router } from '../router.ts';

const YAML_TYPE = /^(?:application|text)\/(?:x-)?yaml\s*(?:;|$)/i;
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/** Reads the body as text (JSON or YAML by Content-Type), refusing more than `limitBytes`. */
async function readSpecBody(
  req: IncomingMessage,
  limitBytes: number,
): Promise<{ text: string; format: 'json' | 'yaml' }> {
  const type = req.headers['content-type'];
  const format = type !== undefined && YAML_TYPE.test(type) ? 'yaml' : 'json';
  if (type !== undefined && format === 'json' && !JSON_TYPE.test(type)) {
    req.resume();
    throw new HttpError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Send the spec as application/json or application/yaml, not "${type}".`,
    );
  }
  return { text: await readBodyText(req, limitBytes), format };
}

function notFound(name: string): AgentfleetError {
  return new AgentfleetError('DEFINITION_NOT_FOUND', `No definition "${name}" of yours.`, {
    details: { name },
  });
}

/**
 * The caller's own definitions: `PUT /v1/definitions/:name` (a spec as JSON, or YAML with
 * `Content-Type: application/yaml`: a new current version, named in the `agentfleet-version`
 * header), `POST /v1/definitions/:name/versions` (a version kept, not current),
 * `GET /v1/definitions/:name/versions`, `GET|DELETE /v1/definitions/:name`
 * (`GET /v1/definitions` lists them with the node's, see the agents routes).
 * Visible only to the caller's tenant; agents of that tenant are then created from them by name.
 * In a cluster they are shared by every node (see `TenantDefinitions`).
 */
export function addDefinitionRoutes(
  router: Router,
  definitions: TenantDefinitions,
  bodyLimitBytes: number,
): void {
  // Read up to the server's body limit, so a spec over the definitions' own limit is SPEC_TOO_LARGE.
  const limit = bodyLimitBytes;
  router.add('PUT', '/v1/definitions/:name', async (req, res, { params }) => {
    const tenant = requireTenant('Definitions').id;
    const { text, format } = await readSpecBody(req, limit);
    const { spec, created, version } = await definitions.put(tenant, params.name!, text, { format });
    res.setHeader('agentfleet-version', version.version);
    sendJson(res, created ? 201 : 200, spec);
  });
  // A version kept beside the current one, for a rollout to move to (the first one is current).
  router.add('POST', '/v1/definitions/:name/versions', async (req, res, { params }) => {
    const tenant = requireTenant('Definitions').id;
    const { text, format } = await readSpecBody(req, limit);
    const { added, version } = await definitions.put(tenant, params.name!, text, {
      format,
      current: false,
    });
    const listed = definitions.versions(tenant, params.name!)?.find((v) => v.id === version.id);
    sendJson(res, added ? 201 : 200, listed ?? version);
  });
  router.add('GET', '/v1/definitions/:name/versions', async (_req, res, { params }) => {
    const tenant = requireTenant('Definitions').id;
    await definitions.sync();
    const versions = definitions.versions(tenant, params.name!);
    if (versions === undefined) throw notFound(params.name!);
    sendJson(res, 200, { name: params.name, versions });
  });
  router.add('GET', '/v1/definitions/:name', async (_req, res, { params }) => {
    const tenant = requireTenant('Definitions').id;
    await definitions.sync(); // in a cluster: as the store has it now, wherever it was put
    const spec = definitions.get(tenant, params.name!);
    if (spec === undefined) throw notFound(params.name!);
    sendJson(res, 200, spec);
  });
  router.add('DELETE', '/v1/definitions/:name', async (_req, res, { params }) => {
    const tenant = requireTenant('Definitions').id;
    if (!(await definitions.delete(tenant, params.name!))) throw notFound(params.name!);
    sendJson(res, 200, { deleted: params.name });
  });
}
