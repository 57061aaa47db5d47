import { AgentfleetError } from '../errors/index.ts';

/** Every slot, the queue (and in wait mode the waiting line) is full. */
export class PoolOverloadedError extends AgentfleetError<PoolErrorCode> {
  constructor(details: {
    capacity: number;
    queueLimit: number;
    running: number;
    queued: number;
    waiting: number;
  }) {
    super(
      'POOL_OVERLOADED',
      `The worker pool is full (${details.running} running, ${details.queued} queued, ${details.waiting} waiting); ` +
        'retry later, or raise its capacity or queueLimit.',
      { details },
    );
  }
}

/** The pool was closed and takes no more tasks. */
export class PoolClosedError extends AgentfleetError<PoolErrorCode> {
  constructor() {
    super('POOL_CLOSED', 'The worker pool is closed and accepts no more tasks.');
  }
}

/** Stable codes of the errors the worker pool throws (each has an HTTP status in the server's table). */
export type PoolErrorCode = 'POOL_CLOSED' | 'POOL_OVERLOADED';
