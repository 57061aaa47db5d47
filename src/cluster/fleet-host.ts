import type { AgentRecord } from './agent-record.ts';
import type { CreateFleetAgent, FleetSendOptions, StateCall } from './fleet.ts';

/** One operation on one agent, run on the node where it is active. */
export type AgentCall =
  | { op: 'info' }
  | { op: 'send'; input: unknown; runId?: string }
  | { op: 'start' }
  | { op: 'stop'; timeoutMs?: number; drain?: boolean }
  | { op: 'remove' }
  | { op: 'state'; state: StateCall }
  | { op: 'resume-run'; runId: string }
  | { op: 'activate' };

/** An agent's state as it travels between nodes (see `AgentRecord.state`). */
export type AgentStateSnapshot = NonNullable<AgentRecord['state']>;

/**
 * What a fleet needs from its node, always in the tenant of the agent concerned (the caller's
 * context): run a call on a local agent, bring an agent into memory from its record and take it
 * out again. The node implements it over its runtime, state store and runs.
 */
export interface FleetHost {
  /** Whether the agent is in this node's memory. */
  has(id: string): boolean;
  /** Runs `call` on the local agent. @throws AgentNotFoundError when it is not here. */
  invoke(id: string, call: AgentCall, options: FleetSendOptions): Promise<unknown>;
  /** Checks what `create` was given and resolves it (the id to use, the config as resolved). */
  prepare(agent: CreateFleetAgent): { id: string; definition: string; config?: unknown };
  /** Whether this node can make an agent of this definition (for the current tenant). */
  canActivate(definition: string): boolean;
  /**
   * Brings the current tenant's definition here if the cluster has it (a tenant's own, put on
   * another node), so that `canActivate` and `prepare` then know it; does nothing when it is here.
   */
  loadDefinition?(definition: string): Promise<void>;
  /** Brings the agent into memory from its record: made from its definition, its state restored, its unfinished runs resumed. */
  activate(record: AgentRecord): Promise<void>;
  /** Takes the agent out of memory (stopped, its state dropped here) and returns its state. */
  deactivate(id: string): Promise<AgentStateSnapshot | undefined>;
  /** The agent's state as it is now (to flush it). */
  snapshot(id: string): AgentStateSnapshot | undefined;
  /** Whether the agent has work in hand (messages in flight or queued, runs running): it is not put to sleep or moved then. */
  busy(id: string): boolean;
}
