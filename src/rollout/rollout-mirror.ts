import { isActive, type RolloutRecord, rolloutKey } from './rollout-record.ts';
import type { RolloutChange } from './rollout-store.ts';
import type { RolloutTarget } from './rollout-target.ts';
import { StepWindow } from './step-window.ts';

/** What this node knows of one rollout. */
export interface MirroredRollout {
  tenant: string;
  definition: string;
  record: RolloutRecord;
  revision: number;
  /** The last revision applied to the target. */
  applied: number;
  /** The id of the rollout this node last saw active (a promotion is applied only then). */
  activeId: string | undefined;
}

/**
 * This node's copy of the shared rollouts, applied to its target in record order (`setSplit`
 * to match each record, `promote` on a promotion it saw coming), and the windows in which it
 * counts the active ones' results. Fed by the store's watch and by this node's own writes.
 */
export class RolloutMirror {
  readonly #target: RolloutTarget;
  readonly #sampleSize: number;
  readonly #clock: () => number;
  readonly #onError: (error: unknown, what: string) => void;
  readonly #rollouts = new Map<string, MirroredRollout>();
  /** tenant → definition → this node's window (active rollouts only): the hot path's lookup. */
  readonly #windows = new Map<string, Map<string, StepWindow>>();
  readonly #applying = new Map<string, Promise<void>>();

  constructor(
    target: RolloutTarget,
    sampleSize: number,
    clock: () => number,
    onError: (error: unknown, what: string) => void,
  ) {
    this.#target = target;
    this.#sampleSize = sampleSize;
    this.#clock = clock;
    this.#onError = onError;
  }

  /** The window of an active rollout of a tenant's definition (O(1)). */
  window(tenant: string, definition: string): StepWindow | undefined {
    return this.#windows.get(tenant)?.get(definition);
  }

  /** Every window, for flushing. */
  *windows(): Iterable<[string, string, StepWindow]> {
    for (const [tenant, defs] of this.#windows)
      for (const [definition, window] of defs) yield [tenant, definition, window];
  }

  /** Every rollout known. */
  rollouts(): MirroredRollout[] {
    return [...this.#rollouts.values()];
  }

  /** Stops counting a tenant's results (its rollouts are being deleted). */
  dropTenant(tenant: string): void {
    this.#windows.delete(tenant);
  }

  /**
   * A record seen (from the watch or written here; an older revision than known is ignored):
   * kept, its window made or dropped, and applied to the target after the key's earlier
   * applications. Resolves when applied.
   */
  changed(change: RolloutChange): Promise<void> {
    const key = rolloutKey(change.tenant, change.definition);
    const known = this.#rollouts.get(key);
    const { stored } = change;
    if (stored === undefined) {
      if (known === undefined) return this.settled(key);
      this.#rollouts.delete(key);
      this.#windows.get(change.tenant)?.delete(change.definition);
      if (known.activeId === undefined) return this.settled(key);
      return this.#apply(key, () => this.#target.setSplit(change.tenant, change.definition, undefined));
    }
    if (known !== undefined && stored.revision <= known.revision) return this.settled(key);
    const r = stored.record;
    const sawActive = known?.activeId === r.id;
    const next: MirroredRollout = {
      tenant: r.tenant,
      definition: r.definition,
      record: r,
      revision: stored.revision,
      applied: known?.applied ?? 0,
      activeId: isActive(r.status) ? r.id : undefined,
    };
    this.#rollouts.set(key, next);
    if (isActive(r.status)) this.#ensureWindow(r);
    else this.#windows.get(r.tenant)?.delete(r.definition);
    return this.#apply(key, async () => {
      if (next.revision <= next.applied) return;
      next.applied = next.revision;
      if (isActive(r.status))
        await this.#target.setSplit(r.tenant, r.definition, { from: r.from, to: r.to, percent: r.percent });
      else {
        if (r.status === 'promoted' && sawActive) await this.#target.promote(r.tenant, r.definition, r.to);
        await this.#target.setSplit(r.tenant, r.definition, undefined);
      }
    });
  }

  /** Resolves when the key's applications so far are done. */
  async settled(key: string): Promise<void> {
    await this.#applying.get(key);
  }

  /** Waits for every application in flight, then forgets everything. */
  async close(): Promise<void> {
    await Promise.all([...this.#applying.values()]);
    this.#windows.clear();
    this.#rollouts.clear();
  }

  #ensureWindow(r: RolloutRecord): void {
    const defs = this.#windows.get(r.tenant) ?? new Map<string, StepWindow>();
    this.#windows.set(r.tenant, defs);
    if (defs.get(r.definition)?.stepId !== r.stepId)
      defs.set(r.definition, new StepWindow(r.stepId, r.from, r.to, this.#sampleSize, this.#clock));
  }

  /** Runs `work` after the key's earlier applications (target calls in record order); failures go to `onError`. */
  #apply(key: string, work: () => void | Promise<void>): Promise<void> {
    const run = (this.#applying.get(key) ?? Promise.resolve())
      .then(work)
      .catch((error) => this.#onError(error, `apply the rollout ${key} to the target`));
    this.#applying.set(key, run);
    void run.finally(() => {
      if (this.#applying.get(key) === run) this.#applying.delete(key);
    });
    return run;
  }
}
