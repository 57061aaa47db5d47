export type { PoolErrorCode } from './errors.ts';
export { PoolClosedError, PoolOverloadedError } from './errors.ts';
export type { PoolStats } from './pool-stats.ts';
export { WorkerPool } from './worker-pool.ts';
export type { ResolvedWorkerPoolOptions, WorkerPoolOptions } from './worker-pool-options.ts';
