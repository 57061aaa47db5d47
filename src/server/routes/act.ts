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
  const act = agent as Agent<unknown, ActResult>;
  const decide = (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const header = req.headers['x-trusted'];
    return act
      .send({ trustHeader: typeof header === 'string' ? header : null })
      .then((result) => sendJson(res, 200, result));
  };
  // The hot path (GET) adds no async frame of its own.
  return (req: IncomingMessage, res: ServerResponse): Promise<void> =>
    req.method === 'POST' ? readJsonBody(req, bodyLimitBytes).then(() => decide(req, res)) : decide(req, res);
}
