import { AgentfleetError } from '../errors/index.ts';
import type { CoreErrorCode } from './errors.ts';

/** The states an agent moves through. `stopped` and `failed` are final. */
export type AgentState = 'pending' | 'running' | 'stopping' | 'stopped' | 'failed';

/** Every state, in lifecycle order; handy for metrics and tables. */
export const AGENT_STATES: readonly AgentState[] = ['pending', 'running', 'stopping', 'stopped', 'failed'];

const LEGAL: Readonly<Record<AgentState, readonly AgentState[]>> = {
  // pending → stopped: an agent that was never started can be stopped without running hooks.
  pending: ['running', 'stopped', 'failed'],
  running: ['stopping', 'failed'],
  stopping: ['stopped', 'failed'],
  stopped: [],
  failed: [],
};

/** Whether the lifecycle allows moving from `from` to `to`. */
export function canTransition(from: AgentState, to: AgentState): boolean {
  return LEGAL[from].includes(to);
}

/** Whether an agent in this state will never run again. */
export function isFinal(state: AgentState): boolean {
  return state === 'stopped' || state === 'failed';
}

/** Thrown when an operation asks an agent for a state change its lifecycle does not allow. */
export class IllegalTransitionError extends AgentfleetError<CoreErrorCode> {
  constructor(agentId: string, from: AgentState, to: AgentState, action: string) {
    super(
      'ILLEGAL_TRANSITION',
      `Agent "${agentId}" cannot ${action}: it is ${from}, and ${from} → ${to} is not allowed. ` +
        'Stopped and failed agents are final; create a new agent instead.',
      { details: { agentId, from, to } },
    );
  }
}

/** A state change, as published on `runtime.events` ('transition'). */
export interface TransitionEvent {
  agentId: string;
  /** The agent definition's name. */
  definition: string;
  from: AgentState;
  to: AgentState;
  /** Milliseconds since the epoch. */
  at: number;
  /** Set when `stop()` hit its deadline and the agent was forced to `stopped`. */
  forced?: boolean;
  /** The crash that sent the agent to `failed`. */
  error?: unknown;
}
