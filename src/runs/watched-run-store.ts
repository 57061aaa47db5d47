import type {
  ApprovalDecision,
  ApprovalRecord,
  Conversation,
  RunEvent,
  RunPatch,
  RunRecord,
} from './run-schemas.ts';
import type {
  ListApprovalsOptions,
  ListRunsOptions,
  RunStore,
  RunStorePurge,
  SweepOptions,
} from './run-store.ts';

/** A run store that tells `onAppend` of every event written through it (to stream runs live). */
export class WatchedRunStore implements RunStore {
  readonly inner: RunStore;
  readonly #onAppend: (tenant: string | undefined, runId: string, events: readonly RunEvent[]) => void;

  constructor(
    inner: RunStore,
    onAppend: (tenant: string | undefined, runId: string, events: readonly RunEvent[]) => void,
  ) {
    this.inner = inner;
    this.#onAppend = onAppend;
  }

  async create(run: RunRecord, events: readonly RunEvent[]): Promise<void> {
    await this.inner.create(run, events);
    this.#onAppend(run.tenant, run.id, events);
  }

  async append(
    tenant: string | undefined,
    runId: string,
    expectedSeq: number,
    events: readonly RunEvent[],
    patch: RunPatch & { updatedAt: number },
  ): Promise<RunRecord> {
    const record = await this.inner.append(tenant, runId, expectedSeq, events, patch);
    if (events.length > 0) this.#onAppend(tenant, runId, events);
    return record;
  }

  get(tenant: string | undefined, runId: string) {
    return this.inner.get(tenant, runId);
  }
  events(tenant: string | undefined, runId: string, afterSeq?: number, limit?: number) {
    return this.inner.events(tenant, runId, afterSeq, limit);
  }
  list(tenant: string | undefined, options?: ListRunsOptions) {
    return this.inner.list(tenant, options);
  }
  unfinished(options?: { owner?: string; limit?: number; after?: string }) {
    return this.inner.unfinished(options);
  }
  putApproval(approval: ApprovalRecord) {
    return this.inner.putApproval(approval);
  }
  getApproval(tenant: string | undefined, approvalId: string) {
    return this.inner.getApproval(tenant, approvalId);
  }
  listApprovals(tenant: string | undefined, options?: ListApprovalsOptions) {
    return this.inner.listApprovals(tenant, options);
  }
  dueApprovals(now: number, limit?: number) {
    return this.inner.dueApprovals(now, limit);
  }
  decideApproval(tenant: string | undefined, approvalId: string, decision: ApprovalDecision) {
    return this.inner.decideApproval(tenant, approvalId, decision);
  }
  getConversation(tenant: string | undefined, agentId: string) {
    return this.inner.getConversation(tenant, agentId);
  }
  putConversation(tenant: string | undefined, agentId: string, conversation: Conversation) {
    return this.inner.putConversation(tenant, agentId, conversation);
  }
  deleteConversation(tenant: string | undefined, agentId: string) {
    return this.inner.deleteConversation(tenant, agentId);
  }
  sweep(options: SweepOptions) {
    return this.inner.sweep(options);
  }
  purgeTenant(tenant: string): Promise<RunStorePurge> {
    return this.inner.purgeTenant(tenant);
  }
  /** Closes the store underneath. */
  close(): Promise<void> {
    return this.inner.close();
  }
}
