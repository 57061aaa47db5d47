import type { PoolStats } from '../pool/index.ts';
import type { AgentState } from './lifecycle.ts';

/** Figures for metrics and `/debug/vars`. */
export interface RuntimeStats {
  /** Agents in the registry now, by state. */
  agents: Record<AgentState, number>;
  /** Transitions into each state since the runtime was created. */
  transitions: Record<AgentState, number>;
  /** Stops that hit their deadline and were forced. */
  forcedStops: number;
  /** Agents created since the runtime was created. */
  created: number;
  pool: PoolStats;
}

export function emptyStateCounts(): Record<AgentState, number> {
  return { pending: 0, running: 0, stopping: 0, stopped: 0, failed: 0 };
}
