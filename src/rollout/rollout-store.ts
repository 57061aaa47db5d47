import type { RolloutRecord, StepStats } from './rollout-record.ts';

/** A record with the store's revision of it (compare-and-set writes name it). */
export interface StoredRollout {
  record: RolloutRecord;
  revision: number;
}

/** A change a watch reports: the record now under a key, or undefined once it was deleted. */
export interface RolloutChange {
  tenant: string;
  definition: string;
  stored: StoredRollout | undefined;
}

/** Handlers of `RolloutStore.watch`. */
export interface RolloutWatchHandlers {
  /** Every record there is when the watch starts, then every change, in order. */
  change(change: RolloutChange): void;
  /** A stored value that is not a rollout record (skipped; the watch goes on). */
  invalid?(error: Error): void;
}

/**
 * Where the rollouts of a cluster live: one record per tenant and definition, written by
 * compare-and-set so that one decision at a time wins, and per-node stats of each step's window
 * (`stepId`), which the decider merges. Adapters: memory (one process, tests), NATS JetStream KV.
 */
export interface RolloutStore {
  /** The record of a tenant's definition, or undefined. */
  get(tenant: string, definition: string): Promise<StoredRollout | undefined>;
  /**
   * Writes `record` if the stored revision is `expected` (0: there must be none). Returns the
   * new revision, or undefined when another write came first.
   */
  put(record: RolloutRecord, expected: number): Promise<number | undefined>;
  /** Records of a tenant, or of every tenant. */
  list(tenant?: string): Promise<StoredRollout[]>;
  /** Deletes a record and its stats; false when there was none. */
  delete(tenant: string, definition: string): Promise<boolean>;
  /** Deletes a tenant's records and stats; how many records there were. */
  purgeTenant(tenant: string): Promise<number>;
  /** Replaces what `node` saw in the window `stepId` of a tenant's definition. */
  putStats(tenant: string, definition: string, stepId: string, node: string, stats: StepStats): Promise<void>;
  /** What every node saw in the window `stepId`, by node. */
  stats(tenant: string, definition: string, stepId: string): Promise<Map<string, StepStats>>;
  /** Deletes the stats of a tenant's definition, of one window or (no `stepId`) of all. */
  dropStats(tenant: string, definition: string, stepId?: string): Promise<void>;
  /** Reports every record, then every change, to `handlers`, until closed. */
  watch(handlers: RolloutWatchHandlers): Promise<{ close(): Promise<void> }>;
  close(): Promise<void>;
}
