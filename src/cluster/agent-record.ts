import { z } from 'zod';

/** The tenant token of an agent without a tenant (the system scope) in directory keys. */
export const SYSTEM_SCOPE = '_';

const stateSchema = z.strictObject({
  values: z.record(z.string(), z.unknown()),
  tags: z.array(z.string()).max(64),
});

/**
 * An addressable agent as the cluster remembers it, whether it is active somewhere or
 * hibernated: what it is made from (definition, config), who owns it now (`owner`, a node id,
 * absent when no node has it active) and its state as last flushed.
 */
export const agentRecordSchema = z.strictObject({
  v: z.literal(1),
  /** Undefined for the system scope. */
  tenant: z.string().min(1).max(64).optional(),
  id: z.string().min(1).max(256),
  definition: z.string().min(1).max(256),
  config: z.unknown().optional(),
  createdAt: z.number().int().nonnegative(),
  /** The node the agent is active on; absent while hibernated. */
  owner: z.string().min(1).max(128).optional(),
  /** Stopped by a caller: it stays stopped wherever it is activated (stopped is final, as on one node). */
  stopped: z.literal(true).optional(),
  /** Created with `start: false` and not started since: activated without starting. */
  unstarted: z.literal(true).optional(),
  /** When it last went to sleep (ms since the epoch). */
  hibernatedAt: z.number().int().nonnegative().optional(),
  /** Its state, as flushed at the last hibernation or hand-over. */
  state: stateSchema.optional(),
});

/** See `agentRecordSchema`. */
export type AgentRecord = z.output<typeof agentRecordSchema>;

/** A record and the store's version of it (a KV revision), which conditional writes compare. */
export interface StoredAgent {
  readonly record: AgentRecord;
  readonly revision: number;
}
