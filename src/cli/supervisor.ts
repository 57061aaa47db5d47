import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { InvalidOptionsError } from '../errors/index.ts';

/** Options of `superviseWorkers`. */
export interface SupervisorOptions {
  /** Workers to keep running (until `setWorkers` changes it). */
  workers: number;
  /** Milliseconds before restarting a worker after the first quick failure; doubles with each one in a row. */
  restartBaseMs: number;
  /** Largest delay between a failure and the restart, in ms. */
  restartMaxMs: number;
  /** Quick failures in a row after which the primary stops every worker and exits 1. */
  restartLimit: number;
  /** A worker that stayed up this long (ms) before exiting was not a quick failure: the count starts over. Default 10,000. */
  stableMs?: number;
  /** Ends the primary with an exit code. Default `process.exit` (tests pass their own). */
  exit?: (code: number) => void;
}

/** What a supervisor runs now. */
export interface SupervisorInfo {
  /** Workers it keeps running: the target of `setWorkers`. */
  workers: number;
  /** Slots of the workers in service (not retiring), ascending. */
  slots: number[];
  /** Workers told to stop by a `setWorkers` that lowered the count, not gone yet. */
  retiring: number;
  /** Restarts waiting for their back-off delay. */
  restartsPending: number;
}

/** A running supervisor. */
export interface Supervisor {
  /**
   * Changes how many workers run: forks the missing slots at once, or sends SIGTERM to the
   * highest-numbered ones (they drain like any stopped node; their exit is not a failure
   * and they are not restarted). @throws InvalidOptionsError unless an integer from 1 to 1,024.
   */
  setWorkers(n: number): void;
  /** The target, the slots in service, those retiring and restarts pending. */
  info(): SupervisorInfo;
  /** Stops restarting, sends SIGTERM to every worker and exits 0 once they are all gone. */
  stop(): void;
}

/** Most workers `setWorkers` accepts. */
const MAX_WORKERS = 1_024;

/**
 * The cluster primary's loop: forks `workers` workers and restarts any that exits, after
 * `restartBaseMs × 2^(n-1)` (at most `restartMaxMs`) for the n-th quick failure in a row, so
 * a worker that cannot start (a corrupt store, a port in use) is not restarted in a tight
 * loop. Past `restartLimit` quick failures in a row it gives up: every worker is stopped and
 * the primary exits 1. Each restart and the give-up are logged with the count and delay.
 * `setWorkers` changes the count at runtime (an autoscaler's actuator).
 */
export function superviseWorkers(options: SupervisorOptions, logger: Logger): Supervisor {
  const stableMs = options.stableMs ?? 10_000;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const startedAt = new Map<Worker, number>();
  // Each worker has a slot (0…workers-1) it keeps across restarts: its node id is
  // `<node id>-w<slot>`, so a restarted worker resumes the durable runs its predecessor owned.
  const slots = new Map<Worker, number>();
  /** Workers leaving because the count went down: their exit is expected. */
  const retiring = new Set<Worker>();
  /** Restart timers by slot. */
  const pending = new Map<NodeJS.Timeout, number>();
  let target = options.workers;
  let failures = 0;
  let stopping = false;
  const fork = (slot: number) => {
    const worker = cluster.fork({ AGENTFLEET_WORKER_SLOT: String(slot) });
    startedAt.set(worker, Date.now());
    slots.set(worker, slot);
  };
  /** Whether a worker (retiring ones included) or a pending restart holds the slot. */
  const held = (slot: number) => {
    for (const s of slots.values()) if (s === slot) return true;
    for (const s of pending.values()) if (s === slot) return true;
    return false;
  };
  const killAll = () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  };
  const clearPending = () => {
    for (const timer of pending.keys()) clearTimeout(timer);
    pending.clear();
  };
  for (let i = 0; i < options.workers; i++) fork(i);

  const onExit = (worker: Worker, code: number, signal: string) => {
    const upMs = Date.now() - (startedAt.get(worker) ?? 0);
    const slot = slots.get(worker) ?? 0;
    startedAt.delete(worker);
    slots.delete(worker);
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        cluster.off('exit', onExit);
        logger.info('all workers stopped');
        exit(0);
      }
      return;
    }
    if (retiring.delete(worker)) {
      logger.info({ pid: worker.process.pid, slot, code, signal }, 'worker retired');
      // The count went up again while it drained: its slot is wanted after all.
      if (slot < target && !held(slot)) fork(slot);
      return;
    }
    if (upMs >= stableMs) failures = 0;
    failures++;
    if (failures > options.restartLimit) {
      stopping = true;
      clearPending();
      logger.fatal(
        { code, signal, failures: options.restartLimit },
        `workers failed ${options.restartLimit} times in a row, each within ${stableMs} ms of starting; giving up (see the worker's own log line for why)`,
      );
      killAll();
      exit(1);
      return;
    }
    if (slot >= target) return; // the count went down meanwhile: no restart
    const delayMs = Math.min(options.restartMaxMs, options.restartBaseMs * 2 ** (failures - 1));
    logger.warn(
      { pid: worker.process.pid, code, signal, upMs, restart: failures, delayMs },
      'worker exited; restarting it after a delay',
    );
    const timer = setTimeout(() => {
      pending.delete(timer);
      if (!stopping && slot < target && !held(slot)) fork(slot);
    }, delayMs);
    pending.set(timer, slot);
  };
  cluster.on('exit', onExit);

  return {
    setWorkers(n) {
      if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS) {
        throw new InvalidOptionsError(
          `Workers must be an integer from 1 to ${MAX_WORKERS}, got ${String(n)}.`,
        );
      }
      if (stopping || n === target) return;
      const from = target;
      target = n;
      for (const [timer, slot] of pending) {
        if (slot >= n) {
          clearTimeout(timer);
          pending.delete(timer);
        }
      }
      for (const [worker, slot] of slots) {
        if (slot >= n && !retiring.has(worker)) {
          retiring.add(worker);
          worker.process.kill('SIGTERM');
        }
      }
      // A slot still held by a retiring worker is forked when that one exits.
      for (let slot = 0; slot < n; slot++) if (!held(slot)) fork(slot);
      logger.info({ from, to: n }, 'workers resized');
    },
    info() {
      const inService: number[] = [];
      for (const [worker, slot] of slots) if (!retiring.has(worker)) inService.push(slot);
      return {
        workers: target,
        slots: inService.sort((a, b) => a - b),
        retiring: retiring.size,
        restartsPending: pending.size,
      };
    },
    stop() {
      if (stopping) return;
      stopping = true;
      clearPending();
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        cluster.off('exit', onExit);
        exit(0);
        return;
      }
      killAll();
    },
  };
}
