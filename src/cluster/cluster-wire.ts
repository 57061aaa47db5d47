import { z } from 'zod';
import { AgentfleetError } from '../errors/index.ts';

/**
 * The messages nodes exchange to reach each other's agents, over the bus (NATS request/reply):
 * a call on `agentfleet.cluster.<cluster>.node.<node>.call`, its reply, stream parts on the
 * caller's `….node.<caller>.parts` and cancellations on `….node.<node>.cancel`; a tenant's
 * deletion on `agentfleet.cluster.<cluster>.tenant-deleted`. The cluster's name keeps two
 * clusters on one NATS apart even when their node ids are the same. Every message is
 * validated when it arrives: a foreign or damaged one is refused (`CLUSTER_CALL_INVALID`).
 */
export interface ClusterSubjects {
  call(node: string): string;
  cancel(node: string): string;
  parts(node: string): string;
  readonly tenantDeleted: string;
}

/** The subjects of cluster `name`. */
export function clusterSubjects(name: string): ClusterSubjects {
  const base = `agentfleet.cluster.${name}`;
  return {
    call: (node) => `${base}.node.${node}.call`,
    cancel: (node) => `${base}.node.${node}.cancel`,
    parts: (node) => `${base}.node.${node}.parts`,
    tenantDeleted: `${base}.tenant-deleted`,
  };
}

const stateCallSchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('get') }),
  z.strictObject({
    op: z.literal('patch'),
    values: z.record(z.string(), z.unknown()).optional(),
    tags: z.array(z.string()).max(64).optional(),
  }),
  z.strictObject({ op: z.literal('delete') }),
]);

export const agentCallSchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('info') }),
  z.strictObject({ op: z.literal('send'), input: z.unknown(), runId: z.string().min(1).max(128).optional() }),
  z.strictObject({ op: z.literal('start') }),
  z.strictObject({
    op: z.literal('stop'),
    timeoutMs: z.number().int().min(0).max(3_600_000).optional(),
    drain: z.boolean().optional(),
  }),
  z.strictObject({ op: z.literal('remove') }),
  z.strictObject({ op: z.literal('state'), state: stateCallSchema }),
  z.strictObject({ op: z.literal('resume-run'), runId: z.string().min(1).max(128) }),
  z.strictObject({ op: z.literal('activate') }),
]);

/** A call from one node to another. The tenant is the envelope's (the bus carries it). */
export const callMessageSchema = z.strictObject({
  id: z.string().min(1).max(256),
  call: agentCallSchema,
  /** Set when the caller wants stream parts: its node id and this call's id. */
  parts: z.strictObject({ node: z.string().min(1).max(128), callId: z.string().min(1).max(64) }).optional(),
  callId: z.string().min(1).max(64),
  /** How many times this call was already forwarded (a bound against loops). */
  hops: z.number().int().min(0).max(4),
});
export type CallMessage = z.output<typeof callMessageSchema>;

export const replySchema = z.union([
  z.strictObject({ ok: z.literal(true), value: z.unknown(), parts: z.number().int().min(0) }),
  z.strictObject({
    ok: z.literal(false),
    error: z.strictObject({
      code: z.string().min(1).max(64),
      message: z.string().max(4_096),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
    parts: z.number().int().min(0),
    /** The call was refused before it ran (the node does not have the agent): it may go elsewhere. */
    retry: z.boolean().optional(),
  }),
]);
export type CallReply = z.output<typeof replySchema>;

export const partMessageSchema = z.strictObject({
  callId: z.string().min(1).max(64),
  seq: z.number().int().min(0),
  part: z.unknown(),
});

export const cancelMessageSchema = z.strictObject({ callId: z.string().min(1).max(64) });

/** A reply's error as the caller sees it: the same code, message and details as on the node that raised it. */
export class RemoteAgentError extends AgentfleetError {
  constructor(error: { code: string; message: string; details?: Record<string, unknown> }) {
    super(error.code, error.message, error.details === undefined ? {} : { details: error.details });
  }
}

/** What a reply carries of an error: an Agentfleet error as it is, anything else as `INTERNAL`. */
export function errorOf(error: unknown): {
  code: string;
  message: string;
  details?: Record<string, unknown>;
} {
  if (AgentfleetError.isInstance(error)) return error.toJSON();
  return { code: 'INTERNAL', message: 'Internal error; see the node log.' };
}
