import { type AgentInfo, AgentNotFoundError, type Runtime } from '../core/index.ts';
import type { RunService } from '../runs/index.ts';
import type { AgentStateStore } from '../state/index.ts';
import type {
  AgentFleet,
  CreateFleetAgent,
  FleetAgentSummary,
  FleetReply,
  FleetSendOptions,
  ListFleetAgentsOptions,
  StateCall,
} from './fleet.ts';
import { NodeAgentHost } from './node-agent-host.ts';

/** The largest listing a single node scans for one page (its agents of the caller's tenant). */
const LIST_SCAN = 1_000_000;

/**
 * The agents of one node, as every front door reaches them: each call runs on this node's
 * runtime, state store and runs, in the caller's tenant. What a node uses without a cluster.
 */
export class LocalFleet implements AgentFleet {
  readonly clustered = false;
  readonly #runtime: Runtime;
  readonly #host: NodeAgentHost;

  constructor(runtime: Runtime, parts: { state?: AgentStateStore; runs?: RunService } = {}) {
    this.#runtime = runtime;
    this.#host = new NodeAgentHost({ runtime, ...parts });
  }

  create(agent: CreateFleetAgent): Promise<AgentInfo> {
    return this.#host.create(agent, agent.start ?? true);
  }

  async info(id: string): Promise<AgentInfo> {
    return this.#runtime.agent(id).info();
  }

  async send(id: string, input: unknown, options: FleetSendOptions = {}): Promise<FleetReply> {
    return (await this.#host.invoke(id, { op: 'send', input }, options)) as FleetReply;
  }

  async start(id: string): Promise<AgentInfo> {
    return (await this.#host.invoke(id, { op: 'start' }, {})) as AgentInfo;
  }

  async stop(
    id: string,
    options: { timeoutMs?: number; drain?: boolean } = {},
  ): Promise<{ forced: boolean; agent: AgentInfo }> {
    return (await this.#host.invoke(id, { op: 'stop', ...options }, {})) as {
      forced: boolean;
      agent: AgentInfo;
    };
  }

  async remove(id: string): Promise<{ state?: string; forced: boolean }> {
    return (await this.#host.invoke(id, { op: 'remove' }, {})) as { state?: string; forced: boolean };
  }

  state(id: string, call: StateCall): Promise<unknown> {
    return this.#host.invoke(id, { op: 'state', state: call }, {});
  }

  async list(options: ListFleetAgentsOptions = {}): Promise<FleetAgentSummary[]> {
    const limit = options.limit ?? 100;
    const after = options.after;
    return this.#runtime
      .list({
        limit: LIST_SCAN,
        ...(options.definition === undefined ? {} : { definition: options.definition }),
      })
      .filter((a) => after === undefined || a.id > after)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, limit)
      .map((a) => ({
        id: a.id,
        definition: a.definition,
        createdAt: a.createdAt,
        ...(a.tenant === undefined ? {} : { tenant: a.tenant }),
        ...(a.state === 'stopped' ? { stopped: true } : {}),
        ...(a.state === 'pending' ? { unstarted: true } : {}),
      }));
  }

  async exists(id: string): Promise<boolean> {
    return this.#runtime.get(id) !== undefined;
  }

  /** Nothing to close: the runtime is the node's. */
  async close(): Promise<void> {}
}

/** Throws `AGENT_NOT_FOUND` unless the fleet has the caller's agent `id` (to answer so before a stream starts). */
export async function requireAgent(fleet: Pick<AgentFleet, 'exists'>, id: string): Promise<void> {
  if (!(await fleet.exists(id))) throw new AgentNotFoundError(id);
}
