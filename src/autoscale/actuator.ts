/**
 * The thing an autoscaler resizes: a worker pool, an agent group's replicas, cluster workers.
 * `set` resolves once the new size is in effect (or accepted); it rejects to report a failure
 * (recorded as `actuator-failed`, the autoscaler tries again at the next evaluation).
 */
export interface Actuator {
  /** The size now. */
  current(): number | Promise<number>;
  /** Changes the size to `size` (an integer within the policy's min and max). */
  set(size: number, signal: AbortSignal): Promise<void>;
}
