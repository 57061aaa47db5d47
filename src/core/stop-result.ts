import type { AgentState } from './lifecycle.ts';

/** How `stop()` ended. */
export interface StopResult {
  /** `stopped`, or `failed` when the agent had crashed or its `onStop` threw. */
  readonly state: AgentState;
  /** True when the deadline passed and the agent was forced to `stopped`. */
  readonly forced: boolean;
  /** What `onStop` threw, if it did. */
  readonly error?: unknown;
}

/** Options for `agent.stop()` and `runtime.close()`. */
export interface StopOptions {
  /** Milliseconds to wait for in-flight messages and `onStop` before forcing. Default: the definition's, else the runtime's. */
  timeoutMs?: number;
  /** Handle messages already in the mailbox before stopping (within the deadline). Default false: they are rejected with `AGENT_STOPPED`. */
  drain?: boolean;
}

export const STOPPED: StopResult = Object.freeze({ state: 'stopped', forced: false });
export const FAILED: StopResult = Object.freeze({ state: 'failed', forced: false });
