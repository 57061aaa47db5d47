import { z } from 'zod';
import { currentTenantId } from '../context/index.ts';
import { InvalidOptionsError } from '../errors/index.ts';
import { defineTool, type Tool, type ToolContext } from './define.ts';
import { AgentMessageError } from './errors.ts';

/**
 * Where `messageAgentTool` sends: a `Runtime`, or anything that sends to the current tenant's
 * agent by id (and, for `definitions`, tells an agent's definition).
 */
export interface AgentMessenger {
  send(id: string, input: unknown, options: { signal?: AbortSignal }): Promise<unknown>;
  get?(id: string): { readonly definition: string } | undefined;
}

export interface MessageAgentToolOptions {
  /** Default `message_agent`. */
  name?: string;
  description?: string;
  /** Ids of the agents the model may message. */
  agents?: readonly string[];
  /** Definitions whose agents the model may message (the target needs `get`). */
  definitions?: readonly string[];
  /** The calling agent's id, when the runner does not pass `agentId` (the runner's wins). */
  from?: string;
  /** Agents a chain of messages may pass through after the first caller. Default 3. */
  maxHops?: number;
  /** Milliseconds to wait for the answer (default: the runner's). */
  timeoutMs?: number;
}

/**
 * Agents waiting on agents, per messenger: `from` waits on `to` while its message is answered.
 * A message that would close a cycle waits forever (or until a timeout) and is refused; so is
 * one that makes the chain of waiting agents longer than `maxHops`.
 */
class WaitGraph {
  readonly #waitsOn = new Map<string, Map<string, number>>();
  readonly #waitedBy = new Map<string, Map<string, number>>();

  add(from: string, to: string): () => void {
    bump(this.#waitsOn, from, to, 1);
    bump(this.#waitedBy, to, from, 1);
    return () => {
      bump(this.#waitsOn, from, to, -1);
      bump(this.#waitedBy, to, from, -1);
    };
  }

  /** True if `from` waits, directly or through others, on `to`. */
  reaches(from: string, to: string): boolean {
    const seen = new Set<string>();
    const stack = [from];
    while (stack.length > 0) {
      const node = stack.pop() as string;
      if (node === to) return true;
      if (seen.has(node)) continue;
      seen.add(node);
      for (const next of this.#waitsOn.get(node)?.keys() ?? []) stack.push(next);
    }
    return false;
  }

  /** Hops of the longest chain of waiting agents that ends at `node` (0 when nobody waits on it). */
  depth(node: string, seen = new Set<string>()): number {
    if (seen.has(node)) return 0; // cycles are refused before they form; this only guards the walk
    seen.add(node);
    let deepest = 0;
    for (const waiter of this.#waitedBy.get(node)?.keys() ?? []) {
      deepest = Math.max(deepest, 1 + this.depth(waiter, seen));
    }
    seen.delete(node);
    return deepest;
  }
}

function bump(map: Map<string, Map<string, number>>, a: string, b: string, by: number): void {
  let inner = map.get(a);
  if (inner === undefined) {
    inner = new Map();
    map.set(a, inner);
  }
  const count = (inner.get(b) ?? 0) + by;
  if (count > 0) inner.set(b, count);
  else {
    inner.delete(b);
    if (inner.size === 0) map.delete(a);
  }
}

/** One graph per messenger, so every tool sending through the same runtime sees every wait. */
const graphs = new WeakMap<AgentMessenger, WaitGraph>();

/**
 * A tool that lets an LLM agent send a message to another agent of its own tenant and get its
 * answer. Only agents in `agents`, or of a definition in `definitions`, may be messaged; an
 * agent cannot message itself, nor an agent that is (through others) waiting on it, nor make a
 * chain longer than `maxHops`. Refusals (`TOOL_AGENT_NOT_ALLOWED`, `TOOL_AGENT_LOOP`) and the
 * target's errors (`AGENT_NOT_FOUND`, …) reach the model as tool errors.
 * @throws InvalidOptionsError with no allow-list, ids with "/", or `definitions` without `get`.
 */
export function messageAgentTool(
  target: AgentMessenger,
  options: MessageAgentToolOptions = {},
): Tool<z.ZodType, unknown> {
  if (typeof target?.send !== 'function') {
    throw new InvalidOptionsError('messageAgentTool needs a target with send(id, input, { signal }).');
  }
  const agents = [...(options.agents ?? [])];
  const definitions = [...(options.definitions ?? [])];
  if (agents.length === 0 && definitions.length === 0) {
    throw new InvalidOptionsError('messageAgentTool needs agents or definitions the model may message.');
  }
  if (agents.some((id) => typeof id !== 'string' || id === '' || id.includes('/'))) {
    throw new InvalidOptionsError('messageAgentTool: agent ids are non-empty and have no "/".');
  }
  if (definitions.length > 0 && typeof target.get !== 'function') {
    throw new InvalidOptionsError('messageAgentTool: definitions need a target with get(id).');
  }
  const maxHops = options.maxHops ?? 3;
  if (!Number.isInteger(maxHops) || maxHops < 1) {
    throw new InvalidOptionsError('messageAgentTool: maxHops must be a positive integer.');
  }
  let waits = graphs.get(target);
  if (waits === undefined) {
    waits = new WaitGraph();
    graphs.set(target, waits);
  }
  const allowedText = [...agents, ...definitions.map((d) => `any ${d} agent`)].join(', ');
  const agentId =
    definitions.length === 0
      ? z.enum(agents as [string, ...string[]]).describe('The agent to message')
      : z.string().min(1).describe(`The agent to message: ${allowedText}`);

  const execute = async (args: { agentId: string; message: string }, context: ToolContext) => {
    const from = context.agentId ?? options.from;
    if (from === undefined) {
      throw new AgentMessageError(
        'TOOL_AGENT_UNKNOWN_CALLER',
        'The calling agent is unknown: run the tool with the runner’s agentId, or give `from`.',
      );
    }
    const to = args.agentId;
    if (to === from)
      throw new AgentMessageError('TOOL_AGENT_LOOP', `An agent cannot message itself (${to}).`);
    const allowed =
      (agents.includes(to) && !to.includes('/')) ||
      (definitions.length > 0 &&
        !to.includes('/') &&
        definitions.includes(target.get?.(to)?.definition ?? ''));
    if (!allowed) {
      throw new AgentMessageError(
        'TOOL_AGENT_NOT_ALLOWED',
        `Agent ${to} may not be messaged; allowed: ${allowedText}.`,
        {
          agentId: to,
        },
      );
    }
    const tenant = currentTenantId() ?? '';
    const fromKey = `${tenant}\n${from}`;
    const toKey = `${tenant}\n${to}`;
    if (waits.reaches(toKey, fromKey)) {
      throw new AgentMessageError(
        'TOOL_AGENT_LOOP',
        `Agent ${to} is already waiting on ${from}: messaging it back would loop. Answer instead.`,
      );
    }
    const hops = waits.depth(fromKey) + 1;
    if (hops > maxHops) {
      throw new AgentMessageError(
        'TOOL_AGENT_LOOP',
        `This message would be hop ${hops} of a chain of agents; at most ${maxHops} are allowed. Answer instead.`,
        { maxHops },
      );
    }
    const release = waits.add(fromKey, toKey);
    try {
      return await target.send(to, args.message, { signal: context.signal });
    } finally {
      release();
    }
  };

  return defineTool({
    name: options.name ?? 'message_agent',
    description:
      options.description ??
      `Sends a message to another agent and returns its answer. You may message: ${allowedText}.`,
    parameters: z.object({ agentId, message: z.string().min(1).describe('What to tell or ask the agent') }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    execute,
  });
}
