import { AgentfleetError } from '../errors/index.ts';
import {
  isFinished,
  type RunEventBody,
  type RunPatch,
  type RunRecord,
  type RunStore,
  RunsError,
} from '../runs/index.ts';

/**
 * The writer of one durable run: appends what changed as the next events of its log, with the
 * run's checkpoint number for optimistic concurrency (a second writer gets RUN_CONFLICT).
 */
export class RunCheckpoint {
  readonly store: RunStore;
  record: RunRecord;
  /** Written with the next append (see `defer`). */
  #deferred: { bodies: RunEventBody[]; patch: RunPatch } | undefined;

  constructor(store: RunStore, record: RunRecord) {
    this.store = store;
    this.record = record;
  }

  get id(): string {
    return this.record.id;
  }

  get tenant(): string | undefined {
    return this.record.tenant;
  }

  /** Creates the run with its `start` event. */
  static async create(
    store: RunStore,
    record: Omit<RunRecord, 'seq'>,
    start: RunEventBody,
  ): Promise<RunCheckpoint> {
    const run: RunRecord = { ...record, seq: 1 };
    await store.create(run, [{ seq: 1, at: record.createdAt, body: start }]);
    return new RunCheckpoint(store, run);
  }

  /**
   * Holds `bodies` and `patch` for the next append: a model response is written together with
   * what follows it (the tool-starts before its calls run, or the finish), one write per step
   * fewer. A crash in between loses only the response, and a resume asks the model again.
   */
  defer(bodies: readonly RunEventBody[], patch: RunPatch = {}): void {
    this.#deferred =
      this.#deferred === undefined
        ? { bodies: [...bodies], patch }
        : { bodies: [...this.#deferred.bodies, ...bodies], patch: { ...this.#deferred.patch, ...patch } };
  }

  /**
   * Appends `bodies` (maybe none) and applies `patch`, in one write.
   * @throws RunsError `RUN_FINISHED` when the run was cancelled meanwhile (by `RunService.cancel`,
   * on this node or another), so the loop stops at its next checkpoint.
   */
  async append(bodies: readonly RunEventBody[], patch: RunPatch = {}): Promise<void> {
    const deferred = this.#deferred;
    if (deferred !== undefined) {
      this.#deferred = undefined;
      bodies = [...deferred.bodies, ...bodies];
      patch = { ...deferred.patch, ...patch };
    }
    const at = Date.now();
    const seq = this.record.seq;
    const events = bodies.map((body, i) => ({ seq: seq + i + 1, at, body }));
    try {
      this.record = await this.store.append(this.record.tenant, this.record.id, seq, events, {
        ...patch,
        updatedAt: at,
      });
    } catch (error) {
      if (!(AgentfleetError.isInstance(error) && error.code === 'RUN_CONFLICT')) throw error;
      const now = await this.store.get(this.record.tenant, this.record.id);
      if (now === undefined || !isFinished(now.status)) throw error;
      this.record = now;
      throw new RunsError('RUN_FINISHED', `Run "${now.id}" was ${now.status} while it ran.`, {
        details: { runId: now.id, status: now.status },
      });
    }
  }
}
