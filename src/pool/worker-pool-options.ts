import { z } from 'zod';

/** The options of `WorkerPool`, with their defaults: the one place both are defined. */
export const workerPoolOptionsSchema = z.object({
  /** Tasks running at once. Integer >= 1. Default 1024. */
  capacity: z.number().int().min(1).default(1024),
  /** Tasks waiting for a free slot. Integer >= 0. Default 10,000. */
  queueLimit: z.number().int().min(0).default(10_000),
  /** What `run()` does when every slot and the queue are full: `'wait'` for room (default) or `'reject'` with `POOL_OVERLOADED`. */
  whenFull: z.enum(['wait', 'reject']).default('wait'),
  /** In `'wait'` mode, callers that may wait for queue room; beyond it they are rejected. Integer >= 0 or Infinity. Default Infinity. */
  maxWaiting: z
    .number()
    .min(0)
    .refine((n) => n === Number.POSITIVE_INFINITY || Number.isInteger(n), 'must be an integer or Infinity')
    .default(Number.POSITIVE_INFINITY),
});

/** Options for `WorkerPool`, as accepted (every one optional, defaults in the schema). */
export type WorkerPoolOptions = z.input<typeof workerPoolOptionsSchema>;

/** The options after parsing: every default filled in. */
export type ResolvedWorkerPoolOptions = z.output<typeof workerPoolOptionsSchema>;
