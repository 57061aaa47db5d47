import { z } from 'zod';
import { type AgentDefinition, isAgentDefinition, Runtime } from '../core/index.ts';

// biome-ignore lint/suspicious/noExplicitAny: a group holds a definition of any type; its parameters are contravariant.
export type AnyDefinition = AgentDefinition<any, any, any, any>;

/** Group ids: like agent ids, at most 120 characters so `<id>.r<index>` stays a valid agent id. */
export const GROUP_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$/;

/** The options of `AgentGroup.open`, with their defaults: the one place both are defined. */
export const agentGroupOptionsSchema = z.object({
  /** The runtime the replicas live in. */
  runtime: z.instanceof(Runtime, { message: 'must be a Runtime' }),
  /** The group's address; replica `i` is the agent `<id>.r<i>`. Letters, digits, `.`, `_`, `-`; at most 120. */
  id: z
    .string()
    .regex(
      GROUP_ID_PATTERN,
      'must be 1-120 letters, digits, ".", "_" or "-", starting with a letter or digit',
    ),
  /** The definition every replica runs: one returned by `defineAgent`, or a registered name. */
  definition: z.union([
    z.string().min(1),
    z.custom<AnyDefinition>((value) => isAgentDefinition(value), 'must be a definition from defineAgent()'),
  ]),
  /** Replicas to start with. Integer from 1 to `maxReplicas`. Default 1. */
  replicas: z.number().int().min(1).default(1),
  /** Most replicas `scale()` may ask for (bounds memory). Integer from 1 to 10,000. Default 1,000. */
  maxReplicas: z.number().int().min(1).max(10_000).default(1_000),
  /** Per-agent config given to every replica, validated by the definition's `config` schema. */
  config: z.unknown().optional(),
  /**
   * Milliseconds a removed replica has to finish the messages it accepted before it is forced
   * (those still unfinished are then rejected with `AGENT_STOPPED`). Default: the definition's
   * stop deadline, else the runtime's.
   */
  drainTimeoutMs: z.number().finite().min(0).optional(),
});

/** Options for `AgentGroup.open`, as accepted (defaults in the schema). */
export type AgentGroupOptions = z.input<typeof agentGroupOptionsSchema>;
