/** How traffic of one agent is split: `percent` of it to `to`, the rest to `from`. */
export interface RolloutSplit {
  from: string;
  to: string;
  percent: number;
}

/**
 * What a rollout drives: the versioned definitions and the router of this node. Every node's
 * manager applies the shared record to its own target (`setSplit` to match it), so each node
 * routes by the shared state. All methods may be async; `setSplit` and `promote` must be
 * idempotent (a node may apply the same record twice, e.g. after a restart).
 */
export interface RolloutTarget {
  /** Whether a version of the definition exists (a rollout to one that does not is `VERSION_NOT_FOUND`). */
  hasVersion(tenant: string, definition: string, version: string): boolean | Promise<boolean>;
  /** The version served now (a rollout goes from it); undefined when there is none. */
  currentVersion(tenant: string, definition: string): string | undefined | Promise<string | undefined>;
  /** Routes `percent` of the agent's traffic to `to`; `undefined` sends all of it to the current version. */
  setSplit(tenant: string, definition: string, split: RolloutSplit | undefined): void | Promise<void>;
  /**
   * Makes `version` the current one (then `setSplit(undefined)` follows). Called on each node
   * that saw the rollout active, when it sees it promoted (a node that starts after the
   * promotion is not told: the target should make the promotion durable itself).
   */
  promote(tenant: string, definition: string, version: string): void | Promise<void>;
}
