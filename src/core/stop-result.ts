import { InvalidOptionsError } from '../errors/index.ts';
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

/**
 * The error for stop options that are not an object with a finite `timeoutMs` >= 0 and a
 * boolean `drain` (both optional), or undefined when they are fine.
 */
export function stopOptionsError(options: unknown): InvalidOptionsError | undefined {
  if (typeof options !== 'object' || options === null) {
    return new InvalidOptionsError(
      `stop options must be an object, got ${options === null ? 'null' : typeof options}.`,
    );
  }
  const { timeoutMs, drain } = options as Record<string, unknown>;
  if (
    timeoutMs !== undefined &&
    !(typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs >= 0)
  ) {
    return new InvalidOptionsError(
      `stop timeoutMs must be a finite number of milliseconds >= 0, got ${String(timeoutMs)}.`,
    );
  }
  if (drain !== undefined && typeof drain !== 'boolean') {
    return new InvalidOptionsError(`stop drain must be a boolean, got ${typeof drain}.`);
  }
  return undefined;
}
