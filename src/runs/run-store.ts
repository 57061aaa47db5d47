import type {
  ApprovalDecision,
  ApprovalRecord,
  ApprovalStatus,
  Conversation,
  RunEvent,
  RunPatch,
  RunRecord,
  RunStatus,
} from './run-schemas.ts';

/** Which runs `list` returns, newest first. */
export interface ListRunsOptions {
  agentId?: string;
  status?: RunStatus;
  /** At most, 1 to 1,000. Default 100. */
  limit?: number;
  /** Only runs created before this one (the last id of the previous page). */
  before?: string;
}

/** Which approvals `listApprovals` returns, oldest first. */
export interface ListApprovalsOptions {
  status?: ApprovalStatus;
  runId?: string;
  /** At most, 1 to 1,000. Default 100. */
  limit?: number;
  /** Only approvals requested after this one (the last id of the previous page). */
  after?: string;
}

/** What `sweep` deletes: finished runs past their TTL, and events of runs finished a while ago. */
export interface SweepOptions {
  /** Runs (with everything of theirs) finished at or before this time, ms. */
  runsFinishedBefore: number;
  /** Events of runs finished at or before this time (the run keeps its header: its summary). */
  eventsFinishedBefore: number;
  /** Decided or expired approvals decided at or before this time. */
  approvalsDecidedBefore: number;
  /** Rows deleted per call, at most. */
  limit: number;
}

/** What a tenant's deletion removed from a store. */
export interface RunStorePurge {
  runs: number;
  approvals: number;
  conversations: number;
}

/**
 * Where durable runs live: each run's header and its checkpoint log (an append of what
 * changed at every step boundary and around every tool call, never a rewrite), the approvals
 * runs wait for, and agents' conversation memory. Every read and write is scoped to a tenant
 * (`undefined` for agents outside any): another tenant's run, approval or conversation is not
 * found. Rows read back are validated; a corrupt or foreign one is `RUN_STORE_CORRUPT`.
 *
 * Adapters: memory, SQLite (`node:sqlite`, the node's default), PostgreSQL, NATS JetStream KV;
 * all pass `runStoreContract` from `agentfleet/testing`.
 */
export interface RunStore {
  /**
   * Creates a run with its first events (`seq` 1, 2, …); `run.seq` must be the last one.
   * @throws RunsError `RUN_EXISTS` when the tenant already has a run of this id.
   */
  create(run: RunRecord, events: readonly RunEvent[]): Promise<void>;
  /**
   * Appends events after `expectedSeq` (numbered from `expectedSeq + 1`) and applies `patch` to
   * the header, atomically: all of it or none.
   * @throws RunsError `RUN_NOT_FOUND`; `RUN_CONFLICT` when the run's seq is not `expectedSeq`
   * (another writer got there first); `RUN_FINISHED` when the run is already finished.
   */
  append(
    tenant: string | undefined,
    runId: string,
    expectedSeq: number,
    events: readonly RunEvent[],
    patch: RunPatch & { updatedAt: number },
  ): Promise<RunRecord>;
  /** The run's header, or undefined (none, another tenant's, or swept). */
  get(tenant: string | undefined, runId: string): Promise<RunRecord | undefined>;
  /** The run's events with `seq > afterSeq`, in order, at most `limit` (default all). */
  events(tenant: string | undefined, runId: string, afterSeq?: number, limit?: number): Promise<RunEvent[]>;
  /** The tenant's runs, newest first. */
  list(tenant: string | undefined, options?: ListRunsOptions): Promise<RunRecord[]>;
  /**
   * Unfinished runs of every tenant (running or awaiting approval), oldest first, for a node
   * resuming after a restart; `owner` narrows to one node's. Page with `after` (a run id).
   */
  unfinished(options?: { owner?: string; limit?: number; after?: string }): Promise<RunRecord[]>;

  /** Records a pending approval. @throws RunsError `RUN_EXISTS` for a taken id. */
  putApproval(approval: ApprovalRecord): Promise<void>;
  getApproval(tenant: string | undefined, approvalId: string): Promise<ApprovalRecord | undefined>;
  listApprovals(tenant: string | undefined, options?: ListApprovalsOptions): Promise<ApprovalRecord[]>;
  /** Pending approvals of every tenant whose `expiresAt` is at or before `now`, oldest first. */
  dueApprovals(now: number, limit?: number): Promise<ApprovalRecord[]>;
  /**
   * Decides a pending approval, once: of two nodes deciding at the same time, one wins.
   * @throws RunsError `APPROVAL_NOT_FOUND`; `APPROVAL_DECIDED` when it is no longer pending.
   */
  decideApproval(
    tenant: string | undefined,
    approvalId: string,
    decision: ApprovalDecision,
  ): Promise<ApprovalRecord>;

  getConversation(tenant: string | undefined, agentId: string): Promise<Conversation | undefined>;
  /** Replaces the agent's conversation (its owner keeps it bounded). */
  putConversation(tenant: string | undefined, agentId: string, conversation: Conversation): Promise<void>;
  deleteConversation(tenant: string | undefined, agentId: string): Promise<boolean>;

  /** Deletes what expired (see `SweepOptions`); returns how many rows of each kind. */
  sweep(options: SweepOptions): Promise<{ runs: number; events: number; approvals: number }>;
  /** Deletes every run, event, approval and conversation of the tenant. */
  purgeTenant(tenant: string): Promise<RunStorePurge>;
  /** Releases connections and handles; idempotent. */
  close(): Promise<void>;
}
