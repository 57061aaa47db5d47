import { AgentRecord } from './agent-record.ts';
import type { TagContext } from './tag-context.ts';

const NO_TENANT = '';
/** `walk` over every tenant. */
export const ALL_TENANTS: unique symbol = Symbol('all tenants');

/**
 * The records of a store, by tenant then agent id (so two tenants' agents with the same id
 * never meet), with running totals of agents, fields and JSON bytes.
 */
export class AgentRegistry {
  readonly #tenants = new Map<string, Map<string, AgentRecord>>();
  agents = 0;
  keys = 0;
  bytes = 0;

  find(tenant: string | undefined, agentId: string): AgentRecord | undefined {
    return this.#tenants.get(tenant ?? NO_TENANT)?.get(agentId);
  }

  /** Adds an empty record; the caller checked there is none. */
  create(agentId: string, tenant: string | undefined, context: TagContext): AgentRecord {
    const key = tenant ?? NO_TENANT;
    let agents = this.#tenants.get(key);
    if (agents === undefined) {
      agents = new Map();
      this.#tenants.set(key, agents);
    }
    const record = new AgentRecord(agentId, tenant, context);
    agents.set(agentId, record);
    this.agents++;
    this.bytes += record.bytes;
    return record;
  }

  /** Records a record's new field count and entry bytes in it and in the totals. */
  account(record: AgentRecord, keys: number, entryBytes: number): void {
    const before = record.bytes;
    this.keys += keys - record.keys;
    record.keys = keys;
    record.entryBytes = entryBytes;
    this.bytes += record.bytes - before;
  }

  /** Removes the record; false if it was not (or no longer) registered. */
  remove(record: AgentRecord): boolean {
    const key = record.tenant ?? NO_TENANT;
    const agents = this.#tenants.get(key);
    if (agents?.get(record.agentId) !== record) return false;
    agents.delete(record.agentId);
    if (agents.size === 0) this.#tenants.delete(key);
    this.agents--;
    this.keys -= record.keys;
    this.bytes -= record.bytes;
    return true;
  }

  /** The tenant's records (a copy), for `AgentStateStore.purgeTenant`. */
  ofTenant(tenant: string): AgentRecord[] {
    return [...(this.#tenants.get(tenant)?.values() ?? [])];
  }

  /** Walks the live records of one tenant, or of every tenant for `ALL_TENANTS`, optionally one agent id. */
  *walk(
    tenant: string | undefined | typeof ALL_TENANTS,
    agentId: string | undefined,
  ): Generator<AgentRecord> {
    const maps = tenant === ALL_TENANTS ? this.#tenants.values() : [this.#tenants.get(tenant ?? NO_TENANT)];
    for (const agents of maps) {
      if (agents === undefined) continue;
      if (agentId === undefined) yield* agents.values();
      else {
        const record = agents.get(agentId);
        if (record !== undefined) yield record;
      }
    }
  }

  clear(): void {
    this.#tenants.clear();
    this.agents = this.keys = this.bytes = 0;
  }
}
