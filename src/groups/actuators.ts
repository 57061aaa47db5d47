import { AbortedError } from '../errors/index.ts';
import type { WorkerPool } from '../pool/index.ts';
import type { AgentGroup } from './agent-group.ts';

/**
 * Something an autoscaler can size: its current size and a way to set it. Structurally the
 * same as the autoscaler's `Actuator` (src/autoscale), defined here so groups do not depend
 * on it; either can be passed where the other is expected.
 */
export interface Actuator {
  /** Names the target in the autoscaler's decisions and metrics. */
  readonly name: string;
  /** The size now. */
  current(): number | Promise<number>;
  /** Sets the size to `n`; resolves once it is in force. */
  set(n: number, signal?: AbortSignal): Promise<void>;
}

/**
 * An agent group as an autoscaler target: `current()` is the replicas in rotation, `set(n)`
 * is `group.scale(n, signal)`. Named `group:<id>` (`group:<tenant>/<id>` for a tenant's group).
 */
export function groupActuator(group: AgentGroup): Actuator {
  const name = group.tenant === undefined ? `group:${group.id}` : `group:${group.tenant}/${group.id}`;
  return {
    name,
    current: () => group.size,
    set: (n, signal) => group.scale(n, signal),
  };
}

/**
 * A worker pool as an autoscaler target: `current()` is its capacity (steps running at once),
 * `set(n)` resizes it (`pool.resize(n)`: growing starts queued steps at once, shrinking lets
 * running ones finish). Named `pool`. Rejects with `INVALID_OPTIONS` unless `n` is an integer
 * >= 1, `ABORTED` if `signal` has fired.
 */
export function poolActuator(pool: WorkerPool): Actuator {
  return {
    name: 'pool',
    current: () => pool.capacity,
    set: (n, signal) => {
      if (signal?.aborted) {
        return Promise.reject(new AbortedError('Resizing the pool was aborted.', { cause: signal.reason }));
      }
      try {
        pool.resize(n);
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(error);
      }
    },
  };
}
