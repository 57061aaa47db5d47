import { z } from 'zod';

/** Options for `WorkerPool`. */
export interface WorkerPoolOptions {
  /** Tasks running at once. Integer >= 1. Default 1024. */
  capacity: number;
  /** Tasks waiting for a free slot. Integer >= 0. Default 10,000. */
  queueLimit: number;
  /** What `run()` does when every slot and the queue are full: `'wait'` for room (default) or `'reject'` with `POOL_OVERLOADED`. */
  whenFull: 'wait' | 'reject';
  /** In `'wait'` mode, callers that may wait for queue room; beyond it they are rejected. Integer >= 0 or Infinity. Default Infinity. */
  maxWaiting: number;
}

export const workerPoolOptionsSchema = z.object({
  capacity: z.number().int().min(1).default(1024),
  queueLimit: z.number().int().min(0).default(10_000),
  whenFull: z.enum(['wait', 'reject']).default('wait'),
  maxWaiting: z
    .number()
    .min(0)
    .refine((n) => n === Number.POSITIVE_INFINITY || Number.isInteger(n), 'must be an integer or Infinity')
    .default(Number.POSITIVE_INFINITY),
});
