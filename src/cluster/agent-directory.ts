import type { AgentRecord, StoredAgent } from './agent-record.ts';

/** Options of `AgentDirectory.list`. */
export interface ListAgentRecordsOptions {
  /** At most this many (default 100, at most 10,000). */
  limit?: number;
  /** Records after this agent id, in id order. */
  after?: string;
}

/**
 * Every addressable agent of the cluster, one record per agent (see `AgentRecord`), shared by
 * all nodes: in memory for one process, a JetStream KV bucket for a cluster. Writes other than
 * `create` are compare-and-set on the record's revision, which is how a node takes ownership of
 * an agent (activation), gives it back (hibernation, hand-over) or takes over a dead node's:
 * of two nodes racing for the same revision, exactly one wins. Records are per tenant: one
 * tenant's id never names another's agent.
 */
export interface AgentDirectory {
  /** The record of `tenant`'s agent `id` (undefined tenant: the system scope), or undefined. */
  get(tenant: string | undefined, id: string): Promise<StoredAgent | undefined>;
  /** Adds a record. @throws AgentExistsError (`AGENT_EXISTS`) when the tenant has an agent with this id. */
  create(record: AgentRecord): Promise<StoredAgent>;
  /** Replaces the record if it is still at `revision`; undefined when it changed or is gone. */
  update(record: AgentRecord, revision: number): Promise<StoredAgent | undefined>;
  /** Deletes the record (only at `revision`, when given); false when absent or changed. */
  delete(tenant: string | undefined, id: string, revision?: number): Promise<boolean>;
  /** The tenant's records in id order, paged. */
  list(tenant: string | undefined, options?: ListAgentRecordsOptions): Promise<AgentRecord[]>;
  /** Deletes every record of the tenant; resolves with how many. */
  purgeTenant(tenant: string): Promise<number>;
  close(): Promise<void>;
}
