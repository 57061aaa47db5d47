import { AgentfleetError } from '../errors/index.ts';
import type { AgentStreamListener } from './agent-stream.ts';
import type { AgentState } from './lifecycle.ts';

/** Options for `agent.send()` and `runtime.send()`. */
export interface SendOptions {
  /** Abandons the message while it waits in the mailbox, and is passed to the step as part of `ctx.signal`. */
  signal?: AbortSignal;
  /** Receives the parts the step streams with `ctx.emit` (an LLM agent's text deltas and tool calls, other agents' `progress`), e.g. to stream them to a client. */
  onEvent?: AgentStreamListener;
  /** The durable run this message starts (its id) or continues (`resume`); read by LLM cognition with a run store. */
  run?: RunRequest;
}

/** Which durable run a message belongs to. */
export interface RunRequest {
  /** The run's id; default: a new one. */
  readonly id?: string;
  /** Continue the run `id` from its last checkpoint instead of starting it (after an approval or a restart). */
  readonly resume?: boolean;
  /** The node's run store (a `RunStore`), for a cognition that has none of its own. */
  readonly store?: unknown;
  /** The node that runs it (recorded as the run's owner). */
  readonly owner?: string;
}

/** A snapshot of one agent for APIs and consoles. */
export interface AgentInfo {
  id: string;
  definition: string;
  state: AgentState;
  /** Milliseconds since the epoch. */
  createdAt: number;
  /** Messages being handled now. */
  inFlight: number;
  /** Messages waiting in the mailbox. */
  queued: number;
  /** Messages handled successfully. */
  handled: number;
  /** Messages whose step threw. */
  failedMessages: number;
  /** The tenant that owns the agent, if any. */
  tenant?: string;
  /** Set when the agent's runs are durable (a message is a run with an id; a client leaving does not cancel it). */
  durable?: true;
  /** Why the agent failed, when it did. */
  error?: { code?: string; message: string };
}

/** The `error` of an `AgentInfo`: an `AgentfleetError`'s code, and any error's message. */
export function describeError(error: unknown): { code?: string; message: string } {
  if (AgentfleetError.isInstance(error)) return { code: error.code, message: error.message };
  return { message: error instanceof Error ? error.message : String(error) };
}
