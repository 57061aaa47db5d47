import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ActResult } from '../../agents/index.ts';
import type { Agent } from '../../core/index.ts';
import { sendJson } from '../http-errors.ts';
import { readJsonBody } from '../read-json-body.ts';

/**
 * `GET|POST /act`: hands the `X-Trusted` header to the act agent and returns its decision.
 * The act agent is shared by every tenant (it has no tenant); its step runs as the caller.
 * A POST body is optional; when present it must be valid JSON within the size limit.
 */
export function actRoute(agent: Agent, bodyLimitBytes: number) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method === 'POST') await readJsonBody(req, bodyLimitBytes);
    const header = req.headers['x-trusted'];
    const result = await (agent as Agent<unknown, ActResult>).send({
      trustHeader: typeof header === 'string' ? header : null,
    });
    sendJson(res, 200, result);
  };
}
