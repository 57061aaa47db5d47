/** Figures of a `WorkerPool`, for metrics and the autoscaler. */
export interface PoolStats {
  capacity: number;
  running: number;
  /** Tasks waiting for a free slot. */
  queued: number;
  /** Callers waiting for queue room (wait mode). */
  waiting: number;
  /** Tasks that resolved. */
  completed: number;
  /** Tasks that threw or rejected. */
  failed: number;
  /** Submissions refused because the pool was full or closed. */
  rejected: number;
  /** Submissions abandoned by their signal before they started. */
  aborted: number;
  /** Time from `run()` to start, in ms, over tasks that had to queue. */
  waitTimeMs: { count: number; total: number; max: number; mean: number };
}
