/** The actions of `agentfleet rollout`. */
export const ROLLOUT_ACTIONS = ['start', 'status', 'pause', 'resume', 'promote', 'abort'] as const;
export type RolloutAction = (typeof ROLLOUT_ACTIONS)[number];

/** What `agentfleet rollout` was given. */
export interface RolloutCommand {
  action: RolloutAction;
  name: string;
  /** The server, default `AGENTFLEET_URL` or `http://127.0.0.1:8080`. */
  url: string;
  /** An API key (the tenant's, or the admin key for the node's own definitions), default `AGENTFLEET_KEY`. */
  key: string | undefined;
  /** For `start`: the version to move to. */
  to?: string | undefined;
  /** For `start`: the steps in percent, `5,30,100`. */
  steps?: string | undefined;
  /** For `start`: how long each step is held, ms. */
  holdMs?: string | undefined;
}

/** The HTTP request of an action. */
export function rolloutRequest(command: RolloutCommand): { method: string; path: string; body?: unknown } {
  const base = `/v1/definitions/${encodeURIComponent(command.name)}/rollout`;
  if (command.action === 'status') return { method: 'GET', path: base };
  if (command.action !== 'start') return { method: 'POST', path: `${base}/${command.action}` };
  const body: Record<string, unknown> = { to: command.to };
  if (command.steps !== undefined) body.steps = command.steps.split(',').map((s) => Number(s.trim()));
  if (command.holdMs !== undefined) body.holdMs = Number(command.holdMs);
  return { method: 'POST', path: base, body };
}

/**
 * `agentfleet rollout ACTION NAME`: calls the server's rollout API and prints its answer as
 * JSON; exit 0 on success, 1 with the error's code and message otherwise, 2 for bad usage.
 */
export async function runRolloutCommand(
  command: RolloutCommand,
  out: { log: (line: string) => void; error: (line: string) => void } = console,
): Promise<number> {
  if (command.action === 'start' && command.to === undefined) {
    out.error('agentfleet: rollout start needs --to VERSION (a version id, label@id or label)');
    return 2;
  }
  const request = rolloutRequest(command);
  const headers: Record<string, string> = {};
  if (command.key !== undefined) headers.authorization = `Bearer ${command.key}`;
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(new URL(request.path, command.url), {
      method: request.method,
      headers,
      ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    out.error(`agentfleet: cannot reach ${command.url}: ${(error as Error).message}`);
    return 1;
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  if (!res.ok) {
    const error = (body as { error?: { code?: string; message?: string } })?.error;
    out.error(`agentfleet: ${error?.code ?? res.status}: ${error?.message ?? text}`);
    return 1;
  }
  out.log(JSON.stringify(body, null, 2));
  return 0;
}
