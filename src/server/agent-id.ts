import { AgentNotFoundError } from '../core/index.ts';

/**
 * An agent id taken from a request. The runtime keys a tenant's agents as `<tenant>/<id>`,
 * so in the system scope (the admin without `X-Agentfleet-Tenant`) an id holding a `/` would
 * reach a tenant's agent; no agent id has one, so such an id is `AGENT_NOT_FOUND`.
 * @throws AgentNotFoundError for an id with a `/` (or a missing one).
 */
export function agentId(id: string | undefined): string {
  if (id === undefined || id.includes('/')) throw new AgentNotFoundError(String(id));
  return id;
}
