import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';

/** Options of `superviseWorkers`. */
export interface SupervisorOptions {
  /** Workers to keep running. */
  workers: number;
  /** Milliseconds before restarting a worker after the first quick failure; doubles with each one in a row. */
  restartBaseMs: number;
  /** Largest delay between a failure and the restart, in ms. */
  restartMaxMs: number;
  /** Quick failures in a row after which the primary stops every worker and exits 1. */
  restartLimit: number;
  /** A worker that stayed up this long (ms) before exiting was not a quick failure: the count starts over. Default 10,000. */
  stableMs?: number;
}

/** A running supervisor. */
export interface Supervisor {
  /** Stops restarting, sends SIGTERM to every worker and exits 0 once they are all gone. */
  stop(): void;
}

/**
 * The cluster primary's loop: forks `workers` workers and restarts any that exits, after
 * `restartBaseMs × 2^(n-1)` (at most `restartMaxMs`) for the n-th quick failure in a row, so
 * a worker that cannot start (a corrupt store, a port in use) is not restarted in a tight
 * loop. Past `restartLimit` quick failures in a row it gives up: every worker is stopped and
 * the primary exits 1. Each restart and the give-up are logged with the count and delay.
 */
export function superviseWorkers(options: SupervisorOptions, logger: Logger): Supervisor {
  const stableMs = options.stableMs ?? 10_000;
  const startedAt = new Map<Worker, number>();
  // Each worker has a slot (0…workers-1) it keeps across restarts: its node id is
  // `<node id>-w<slot>`, so a restarted worker resumes the durable runs its predecessor owned.
  const slots = new Map<Worker, number>();
  const pending = new Set<NodeJS.Timeout>();
  let failures = 0;
  let stopping = false;
  const fork = (slot: number) => {
    const worker = cluster.fork({ AGENTFLEET_WORKER_SLOT: String(slot) });
    startedAt.set(worker, Date.now());
    slots.set(worker, slot);
  };
  const killAll = () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  };
  for (let i = 0; i < options.workers; i++) fork(i);

  cluster.on('exit', (worker, code, signal) => {
    const upMs = Date.now() - (startedAt.get(worker) ?? 0);
    const slot = slots.get(worker) ?? 0;
    startedAt.delete(worker);
    slots.delete(worker);
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        logger.info('all workers stopped');
        process.exit(0);
      }
      return;
    }
    if (upMs >= stableMs) failures = 0;
    failures++;
    if (failures > options.restartLimit) {
      stopping = true;
      for (const timer of pending) clearTimeout(timer);
      logger.fatal(
        { code, signal, failures: options.restartLimit },
        `workers failed ${options.restartLimit} times in a row, each within ${stableMs} ms of starting; giving up (see the worker's own log line for why)`,
      );
      killAll();
      process.exit(1);
    }
    const delayMs = Math.min(options.restartMaxMs, options.restartBaseMs * 2 ** (failures - 1));
    logger.warn(
      { pid: worker.process.pid, code, signal, upMs, restart: failures, delayMs },
      'worker exited; restarting it after a delay',
    );
    const timer = setTimeout(() => {
      pending.delete(timer);
      if (!stopping) fork(slot);
    }, delayMs);
    pending.add(timer);
  });

  return {
    stop() {
      if (stopping) return;
      stopping = true;
      for (const timer of pending) clearTimeout(timer);
      pending.clear();
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      killAll();
    },
  };
}
