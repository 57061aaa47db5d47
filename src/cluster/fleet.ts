import type { AgentInfo, AgentStreamListener } from '../core/index.ts';
import type { ClusterTenantUsage } from './cluster-usage.ts';

/** What creates an agent: a definition by name, an optional id and config. */
export interface CreateFleetAgent {
  definition: string;
  id?: string;
  config?: unknown;
  /** Start it at once (default true). */
  start?: boolean;
}

/** Options of `AgentFleet.list`. */
export interface ListFleetAgentsOptions {
  /** Only agents of this definition. */
  definition?: string;
  /** At most this many (default 100). */
  limit?: number;
  /** Agents after this id, in id order (a cluster's paging). */
  after?: string;
}

/** An agent as a listing shows it: what it is, and, in a cluster, where it is active. */
export interface FleetAgentSummary {
  id: string;
  definition: string;
  createdAt: number;
  tenant?: string;
  /** The node it is active on; null while it is hibernated (in a cluster). */
  node?: string | null;
  /** Stopped by a caller. */
  stopped?: boolean;
  /** Created with `start: false` and not started yet. */
  unstarted?: boolean;
}

/** Options of `AgentFleet.send`. */
export interface FleetSendOptions {
  /** Abandons a plain message (a durable agent's run is not cancelled by it: `runs.cancel` does that). */
  signal?: AbortSignal;
  /** Receives the parts the agent streams, wherever it runs. */
  onEvent?: AgentStreamListener;
  /** The id a durable agent's run gets (default: a new one), so a caller can name it before it starts. */
  runId?: string;
}

/** The answer to a message: the agent's output, and the run's id when the agent is durable. */
export interface FleetReply {
  output: unknown;
  runId?: string;
}

/** A state operation on an agent (the HTTP state routes' bodies). */
export type StateCall =
  | { op: 'get' }
  | { op: 'patch'; values?: Record<string, unknown>; tags?: string[] }
  | { op: 'delete' };

/**
 * The node's agents as every front door (HTTP, bus, OpenAI endpoint) reaches them, in the
 * caller's tenant: on one node, its runtime; in a cluster, wherever each agent is active (a
 * call for an agent that is active nowhere activates it). Errors are those of a local call
 * (`AGENT_NOT_FOUND`, `AGENT_EXISTS`, `INVALID_INPUT`, `MAILBOX_FULL`, …), whichever node raised them.
 */
export interface AgentFleet {
  /** Whether agents live in a cluster (and may be active on another node). */
  readonly clustered: boolean;
  /** Creates (and starts) an agent. */
  create(agent: CreateFleetAgent): Promise<AgentInfo>;
  /** The agent's snapshot, from the node it is active on (activating it). */
  info(id: string): Promise<AgentInfo>;
  /** Sends a message: a durable agent's is a run (the reply has `runId`). */
  send(id: string, input: unknown, options?: FleetSendOptions): Promise<FleetReply>;
  /** Starts an agent created with `start: false` (stopped is final: `ILLEGAL_TRANSITION`). */
  start(id: string): Promise<AgentInfo>;
  /** Stops the agent (in a cluster: it stays stopped wherever it is activated next). */
  stop(
    id: string,
    options?: { timeoutMs?: number; drain?: boolean },
  ): Promise<{ forced: boolean; agent: AgentInfo }>;
  /** Removes the agent and its state. */
  remove(id: string): Promise<{ state?: string; forced: boolean }>;
  /** A state operation on the agent's state, on the node it is active on. */
  state(id: string, call: StateCall): Promise<unknown>;
  /** The caller's agents, in id order, paged by `after`. */
  list(options?: ListFleetAgentsOptions): Promise<FleetAgentSummary[]>;
  /** Whether the agent exists (in the caller's tenant). */
  exists(id: string): Promise<boolean>;
  /** A tenant's agents and messages over the whole cluster; absent or undefined without a cluster's counters. */
  clusterUsage?(tenant: string): ClusterTenantUsage | undefined;
  close(): Promise<void>;
}
