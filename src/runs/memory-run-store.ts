import {
  alreadyExists,
  approvalNotFound,
  RunsError,
  runConflict,
  runFinished,
  runNotFound,
} from './errors.ts';
import { pageLimit, tenantKey } from './paging.ts';
import { readApproval, readConversation, readEvent, readRun } from './read-rows.ts';
import {
  type ApprovalDecision,
  type ApprovalRecord,
  type Conversation,
  isFinished,
  type RunEvent,
  type RunPatch,
  type RunRecord,
} from './run-schemas.ts';
import type {
  ListApprovalsOptions,
  ListRunsOptions,
  RunStore,
  RunStorePurge,
  SweepOptions,
} from './run-store.ts';

interface StoredRun {
  record: RunRecord;
  events: RunEvent[];
}

/**
 * Runs in this process's memory: for tests and for agents that need pause-and-approve but not
 * survival of a restart. Rows are copied in and out, so callers never share them.
 */
export class MemoryRunStore implements RunStore {
  readonly #runs = new Map<string, Map<string, StoredRun>>();
  readonly #approvals = new Map<string, Map<string, ApprovalRecord>>();
  readonly #conversations = new Map<string, Map<string, Conversation>>();
  #closed = false;

  async create(run: RunRecord, events: readonly RunEvent[]): Promise<void> {
    this.#open();
    const runs = ofTenant(this.#runs, run.tenant);
    if (runs.has(run.id)) throw alreadyExists('Run', run.id);
    runs.set(run.id, { record: structuredClone(run), events: structuredClone([...events]) });
  }

  async append(
    tenant: string | undefined,
    runId: string,
    expectedSeq: number,
    events: readonly RunEvent[],
    patch: RunPatch & { updatedAt: number },
  ): Promise<RunRecord> {
    this.#open();
    const stored = this.#runs.get(tenantKey(tenant))?.get(runId);
    if (stored === undefined) throw runNotFound(runId);
    const { record } = stored;
    if (record.seq !== expectedSeq) throw runConflict(runId, expectedSeq, record.seq);
    if (isFinished(record.status)) throw runFinished(runId, record.status);
    const next: RunRecord = { ...record, ...structuredClone(patch), seq: expectedSeq + events.length };
    for (const event of events) stored.events.push(structuredClone(event));
    stored.record = next;
    return structuredClone(next);
  }

  async get(tenant: string | undefined, runId: string): Promise<RunRecord | undefined> {
    const stored = this.#runs.get(tenantKey(tenant))?.get(runId);
    return stored === undefined ? undefined : readRun(structuredClone(stored.record), tenant, runId);
  }

  async events(tenant: string | undefined, runId: string, afterSeq = 0, limit?: number): Promise<RunEvent[]> {
    const stored = this.#runs.get(tenantKey(tenant))?.get(runId);
    if (stored === undefined) return [];
    const from = stored.events.findIndex((e) => e.seq > afterSeq);
    if (from < 0) return [];
    const slice = stored.events.slice(from, limit === undefined ? undefined : from + limit);
    return slice.map((e) => readEvent(structuredClone(e), runId, e.seq));
  }

  async list(tenant: string | undefined, options: ListRunsOptions = {}): Promise<RunRecord[]> {
    const limit = pageLimit(options.limit);
    const runs = [...(this.#runs.get(tenantKey(tenant))?.values() ?? [])]
      .map((s) => s.record)
      .filter(
        (r) =>
          (options.agentId === undefined || r.agentId === options.agentId) &&
          (options.status === undefined || r.status === options.status) &&
          (options.before === undefined || r.id < options.before),
      )
      .sort((a, b) => (a.id < b.id ? 1 : -1));
    return runs.slice(0, limit).map((r) => readRun(structuredClone(r), tenant, r.id));
  }

  async unfinished(options: { owner?: string; limit?: number; after?: string } = {}): Promise<RunRecord[]> {
    const limit = pageLimit(options.limit);
    const found: RunRecord[] = [];
    for (const runs of this.#runs.values())
      for (const { record } of runs.values())
        if (
          !isFinished(record.status) &&
          (options.owner === undefined || record.owner === options.owner) &&
          (options.after === undefined || record.id > options.after)
        )
          found.push(record);
    found.sort((a, b) => (a.id < b.id ? -1 : 1));
    return found.slice(0, limit).map((r) => readRun(structuredClone(r), r.tenant, r.id));
  }

  async putApproval(approval: ApprovalRecord): Promise<void> {
    this.#open();
    const approvals = ofTenant(this.#approvals, approval.tenant);
    if (approvals.has(approval.id)) throw alreadyExists('Approval', approval.id);
    approvals.set(approval.id, structuredClone(approval));
  }

  async getApproval(tenant: string | undefined, approvalId: string): Promise<ApprovalRecord | undefined> {
    const approval = this.#approvals.get(tenantKey(tenant))?.get(approvalId);
    return approval === undefined ? undefined : readApproval(structuredClone(approval), tenant, approvalId);
  }

  async listApprovals(
    tenant: string | undefined,
    options: ListApprovalsOptions = {},
  ): Promise<ApprovalRecord[]> {
    const limit = pageLimit(options.limit);
    return [...(this.#approvals.get(tenantKey(tenant))?.values() ?? [])]
      .filter(
        (a) =>
          (options.status === undefined || a.status === options.status) &&
          (options.runId === undefined || a.runId === options.runId) &&
          (options.after === undefined || a.id > options.after),
      )
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .slice(0, limit)
      .map((a) => readApproval(structuredClone(a), tenant, a.id));
  }

  async dueApprovals(now: number, limit?: number): Promise<ApprovalRecord[]> {
    const max = pageLimit(limit);
    const due: ApprovalRecord[] = [];
    for (const approvals of this.#approvals.values())
      for (const a of approvals.values())
        if (a.status === 'pending' && a.expiresAt !== undefined && a.expiresAt <= now) due.push(a);
    due.sort((a, b) => (a.id < b.id ? -1 : 1));
    return due.slice(0, max).map((a) => readApproval(structuredClone(a), a.tenant, a.id));
  }

  async decideApproval(
    tenant: string | undefined,
    approvalId: string,
    decision: ApprovalDecision,
  ): Promise<ApprovalRecord> {
    this.#open();
    const approvals = this.#approvals.get(tenantKey(tenant));
    const approval = approvals?.get(approvalId);
    if (approvals === undefined || approval === undefined) throw approvalNotFound(approvalId);
    if (approval.status !== 'pending') throw approvalDecided(approval);
    const decided = applyDecision(approval, decision);
    approvals.set(approvalId, decided);
    return structuredClone(decided);
  }

  async getConversation(tenant: string | undefined, agentId: string): Promise<Conversation | undefined> {
    const c = this.#conversations.get(tenantKey(tenant))?.get(agentId);
    return c === undefined ? undefined : readConversation(structuredClone(c), agentId);
  }

  async putConversation(
    tenant: string | undefined,
    agentId: string,
    conversation: Conversation,
  ): Promise<void> {
    this.#open();
    ofTenant(this.#conversations, tenant).set(agentId, structuredClone(conversation));
  }

  async deleteConversation(tenant: string | undefined, agentId: string): Promise<boolean> {
    return this.#conversations.get(tenantKey(tenant))?.delete(agentId) ?? false;
  }

  async sweep(options: SweepOptions): Promise<{ runs: number; events: number; approvals: number }> {
    let budget = options.limit;
    let runs = 0;
    let events = 0;
    let approvals = 0;
    for (const tenantRuns of this.#runs.values())
      for (const [id, stored] of tenantRuns) {
        if (budget <= 0) break;
        const finishedAt = stored.record.finishedAt;
        if (finishedAt === undefined) continue;
        if (finishedAt <= options.runsFinishedBefore) {
          tenantRuns.delete(id);
          runs++;
          events += stored.events.length;
          budget -= 1 + stored.events.length;
        } else if (finishedAt <= options.eventsFinishedBefore && stored.events.length > 0) {
          events += stored.events.length;
          budget -= stored.events.length;
          stored.events = [];
        }
      }
    for (const tenantApprovals of this.#approvals.values())
      for (const [id, a] of tenantApprovals) {
        if (budget <= 0) break;
        if (a.decidedAt !== undefined && a.decidedAt <= options.approvalsDecidedBefore) {
          tenantApprovals.delete(id);
          approvals++;
          budget--;
        }
      }
    return { runs, events, approvals };
  }

  async purgeTenant(tenant: string): Promise<RunStorePurge> {
    const purge = {
      runs: this.#runs.get(tenant)?.size ?? 0,
      approvals: this.#approvals.get(tenant)?.size ?? 0,
      conversations: this.#conversations.get(tenant)?.size ?? 0,
    };
    this.#runs.delete(tenant);
    this.#approvals.delete(tenant);
    this.#conversations.delete(tenant);
    return purge;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #open(): void {
    if (this.#closed) throw new RunsError('RUN_STORE_UNAVAILABLE', 'The run store is closed.');
  }
}

function ofTenant<V>(map: Map<string, Map<string, V>>, tenant: string | undefined): Map<string, V> {
  const key = tenantKey(tenant);
  let inner = map.get(key);
  if (inner === undefined) {
    inner = new Map();
    map.set(key, inner);
  }
  return inner;
}

/** The error for deciding an approval that is no longer pending. */
export function approvalDecided(approval: ApprovalRecord): RunsError {
  return new RunsError('APPROVAL_DECIDED', `Approval "${approval.id}" is already ${approval.status}.`, {
    details: { approvalId: approval.id, status: approval.status },
  });
}

/** The approval after `decision` (shared by the adapters). */
export function applyDecision(approval: ApprovalRecord, decision: ApprovalDecision): ApprovalRecord {
  return {
    ...approval,
    status: decision.status,
    decidedAt: decision.at,
    ...(decision.arguments === undefined ? {} : { decidedArguments: decision.arguments }),
    ...(decision.reason === undefined ? {} : { decisionReason: decision.reason }),
  };
}
