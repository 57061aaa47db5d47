import { randomUUID } from 'node:crypto';
import type { AgentRecord } from './agent-record.ts';
import { StateInvalidError } from './errors.ts';
import { AGENT_ID_PATTERN, type StateSnapshotPage } from './state-types.ts';

/** Paged-snapshot cursors kept at once; past it the least recently used is dropped. */
const MAX_SESSIONS = 64;
/** A cursor not used for this long (ms) is dropped when the next paging starts. */
const SESSION_IDLE_MS = 60_000;
/** Views per page, at most (a request may ask for fewer). */
const MAX_PAGE_VIEWS = 1000;
/** A page stops growing past this many bytes of values (at least one view goes in), well under the bus's 1 MiB. */
const PAGE_BYTES = 256 * 1024;

interface Session {
  readonly tenant: string | undefined;
  readonly records: Iterator<AgentRecord>;
  touched: number;
}

/** The records a paging walks: the requester's tenant's, or every tenant's for a system request. */
export type RecordSource = (tenant: string | undefined, agentId: string | undefined) => Iterator<AgentRecord>;

/**
 * Answers paged snapshot requests (`StateSnapshotPage`): the first request starts a walk over
 * the live records and gets a cursor; each next request carries it on. A walk sees records as
 * they are when it reaches them (the replica that asks also receives deltas, so a change made
 * meanwhile still arrives). Cursors are bound to the requester's tenant and bounded in number.
 */
export class SnapshotPager {
  readonly #sessions = new Map<string, Session>();
  readonly #source: RecordSource;
  readonly #clock: () => number;

  constructor(source: RecordSource, clock: () => number) {
    this.#source = source;
    this.#clock = clock;
  }

  /**
   * The next page for a request from `tenant`.
   * @throws StateInvalidError for a malformed request or a cursor that is unknown, expired or another tenant's.
   */
  page(tenant: string | undefined, request: unknown): StateSnapshotPage {
    const { cursor, agentId, limit } = parseRequest(request);
    const now = this.#clock();
    let id = cursor;
    let session: Session | undefined;
    if (id === undefined) {
      this.#sweep(now);
      id = randomUUID();
      session = { tenant, records: this.#source(tenant, agentId), touched: now };
    } else {
      session = this.#sessions.get(id);
      if (session === undefined || session.tenant !== tenant) {
        throw new StateInvalidError('*', 'cursor', 'unknown or expired cursor; start again without one');
      }
      this.#sessions.delete(id);
    }
    const views: StateSnapshotPage['views'] = [];
    let bytes = 0;
    while (views.length < limit && (views.length === 0 || bytes < PAGE_BYTES)) {
      const next = session.records.next();
      if (next.done === true) return { views };
      const record = next.value;
      if (record.deadline <= now) continue; // expired, not yet purged
      views.push({ ...record.view(), tenant: record.tenant, expiresAt: record.deadline });
      bytes += record.bytes;
    }
    session.touched = now;
    this.#sessions.set(id, session);
    if (this.#sessions.size > MAX_SESSIONS)
      this.#sessions.delete(this.#sessions.keys().next().value as string);
    return { views, cursor: id };
  }

  /** Drops the walks of a tenant (its state was purged). */
  forgetTenant(tenant: string): void {
    for (const [id, session] of this.#sessions) if (session.tenant === tenant) this.#sessions.delete(id);
  }

  clear(): void {
    this.#sessions.clear();
  }

  #sweep(now: number): void {
    for (const [id, session] of this.#sessions) {
      if (now - session.touched > SESSION_IDLE_MS) this.#sessions.delete(id);
    }
  }
}

function parseRequest(request: unknown): { cursor?: string; agentId?: string; limit: number } {
  const r = (request ?? {}) as { cursor?: unknown; agentId?: unknown; limit?: unknown };
  const bad = (path: string, reason: string): never => {
    throw new StateInvalidError('*', path, reason);
  };
  if (typeof r !== 'object' || Array.isArray(r)) bad('request', 'a snapshot page request is an object');
  if (r.cursor !== undefined && (typeof r.cursor !== 'string' || r.cursor.length > 64))
    bad('cursor', 'a cursor is the string a previous page returned');
  if (r.agentId !== undefined && (typeof r.agentId !== 'string' || !AGENT_ID_PATTERN.test(r.agentId)))
    bad('agentId', 'agent ids are 1-128 letters, digits, _, -, : or @');
  const limit = r.limit ?? MAX_PAGE_VIEWS;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_VIEWS)
    bad('limit', `limit is an integer 1-${MAX_PAGE_VIEWS}`);
  return {
    cursor: r.cursor as string | undefined,
    agentId: r.agentId as string | undefined,
    limit: limit as number,
  };
}
