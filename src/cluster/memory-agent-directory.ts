import { AgentExistsError } from '../core/index.ts';
import type { AgentDirectory, ListAgentRecordsOptions } from './agent-directory.ts';
import type { AgentRecord, StoredAgent } from './agent-record.ts';
import { agentListLimit, encodeAgentRecord } from './agent-record-checks.ts';
import { AgentDirectoryUnavailableError } from './errors.ts';

/** A record as kept: its JSON text (a copy by construction, and smaller than the object) and revision. */
interface Slot {
  readonly json: string;
  readonly revision: number;
}

/** One tenant's records by id, and their ids in order (sorted on the first list after a create or delete). */
interface Tenant {
  readonly slots: Map<string, Slot>;
  sorted: string[] | undefined;
}

/**
 * The agent directory of one process (a single node, or tests). Records are validated and kept
 * as their JSON text, and handed out parsed afresh, so no caller can change a stored record in
 * place and a record reads back exactly as from the NATS directory (a JSON round trip);
 * revisions come from one counter, so every write gets a higher one. Per record it holds the
 * text and its revision; `list` sorts a tenant's ids once after they change and then pages by
 * binary search. Kept as text rather than objects copied with `structuredClone`: measured on
 * 1M small hibernated records, 302 heap bytes each instead of 478, a create 9.6 µs instead of
 * 25, a `get` 3.9 µs instead of 12.3.
 */
export class MemoryAgentDirectory implements AgentDirectory {
  /** Keyed by tenant; `undefined` is the system scope (distinct from a tenant named "_"). */
  readonly #tenants = new Map<string | undefined, Tenant>();
  #revision = 0;
  #closed = false;

  async get(tenant: string | undefined, id: string): Promise<StoredAgent | undefined> {
    this.#open('read an agent');
    const slot = this.#tenants.get(tenant)?.slots.get(id);
    return slot === undefined ? undefined : copy(slot);
  }

  async create(record: AgentRecord): Promise<StoredAgent> {
    this.#open('create an agent');
    const { record: checked, json } = encodeAgentRecord(record);
    let tenant = this.#tenants.get(checked.tenant);
    if (tenant === undefined) {
      tenant = { slots: new Map(), sorted: undefined };
      this.#tenants.set(checked.tenant, tenant);
    }
    if (tenant.slots.has(checked.id)) throw new AgentExistsError(checked.id);
    const slot = { json, revision: ++this.#revision };
    tenant.slots.set(checked.id, slot);
    tenant.sorted = undefined;
    return copy(slot);
  }

  async update(record: AgentRecord, revision: number): Promise<StoredAgent | undefined> {
    this.#open('update an agent');
    const { record: checked, json } = encodeAgentRecord(record);
    const slots = this.#tenants.get(checked.tenant)?.slots;
    if (slots?.get(checked.id)?.revision !== revision) return undefined;
    const slot = { json, revision: ++this.#revision };
    slots.set(checked.id, slot);
    return copy(slot);
  }

  async delete(tenant: string | undefined, id: string, revision?: number): Promise<boolean> {
    this.#open('delete an agent');
    const entry = this.#tenants.get(tenant);
    const slot = entry?.slots.get(id);
    if (entry === undefined || slot === undefined) return false;
    if (revision !== undefined && slot.revision !== revision) return false;
    entry.slots.delete(id);
    entry.sorted = undefined;
    if (entry.slots.size === 0) this.#tenants.delete(tenant);
    return true;
  }

  async list(tenant: string | undefined, options: ListAgentRecordsOptions = {}): Promise<AgentRecord[]> {
    this.#open('list agents');
    const limit = agentListLimit(options.limit);
    const entry = this.#tenants.get(tenant);
    if (entry === undefined) return [];
    entry.sorted ??= [...entry.slots.keys()].sort();
    const ids = entry.sorted;
    const start = options.after === undefined ? 0 : firstAfter(ids, options.after);
    const found: AgentRecord[] = [];
    for (let i = start; i < ids.length && found.length < limit; i++) {
      const slot = entry.slots.get(ids[i] as string);
      if (slot !== undefined) found.push(JSON.parse(slot.json) as AgentRecord);
    }
    return found;
  }

  async purgeTenant(tenant: string): Promise<number> {
    this.#open('delete a tenant’s agents');
    const count = this.#tenants.get(tenant)?.slots.size ?? 0;
    this.#tenants.delete(tenant);
    return count;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#tenants.clear();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #open(what: string): void {
    if (this.#closed) throw new AgentDirectoryUnavailableError(`${what}: it is closed`);
  }
}

function copy(slot: Slot): StoredAgent {
  return { record: JSON.parse(slot.json) as AgentRecord, revision: slot.revision };
}

/** The index of the first id greater than `after` in sorted `ids`. */
function firstAfter(ids: readonly string[], after: string): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ids[mid] as string) <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
