const REFUSAL = Symbol.for('agentfleet.refusal');

/**
 * Marks an error as a refusal: a limit said no before any work (a budget, say), which is not a
 * failure of the agent. A step that throws one hands it to the sender as it is (its own code and
 * HTTP status), not wrapped as `AGENT_STEP_FAILED`, and never fails the agent. Returns `error`.
 */
export function markRefusal<E extends Error>(error: E): E {
  Object.defineProperty(error, REFUSAL, { value: true });
  return error;
}

/** True for an error marked with `markRefusal` (by any copy of the package). */
export function isRefusal(value: unknown): boolean {
  return typeof value === 'object' && value !== null && REFUSAL in value;
}
