import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ActResult } from '../../agents/index.ts';
import type { Runtime } from '../../core/index.ts';
import { sendJson } from '../http-errors.ts';
import { readJsonBody } from '../read-json-body.ts';

/**
 * `GET|POST /act`: hands the `X-Trusted` header to the act agent and returns its decision.
 * A POST body is optional; when present it must be valid JSON within the size limit.
 */
export function actRoute(runtime: Runtime, agentId: string, bodyLimitBytes: number) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method === 'POST') await readJsonBody(req, bodyLimitBytes);
    const header = req.headers['x-trusted'];
    const result = await runtime.send<ActResult>(agentId, {
      trustHeader: typeof header === 'string' ? header : null,
    });
    sendJson(res, 200, result);
  };
}
