import type { SpanContext } from '@opentelemetry/api';
import { Mailbox } from './mailbox.ts';

/** Marks memory not created yet (a definition's `memory()` may return undefined). */
export const UNSET: unique symbol = Symbol('unset');

/**
 * The part of an agent that only exists once it does more than sit idle: its mailbox (the
 * base class, so one allocation), counters, run signal, memory, a start or stop in progress, a failure, its
 * trace. An idle agent (most of a large fleet) never allocates one, which keeps the agent
 * itself to a handful of fields (see `bench/idle-agents.bench.ts`).
 */
export class AgentActivity<Config, Memory> extends Mailbox<Config, Memory> {
  memory: Memory | typeof UNSET = UNSET;
  controller: AbortController | undefined = undefined;
  /** Messages handled successfully. */
  handled = 0;
  /** Messages whose step threw. */
  failedMessages = 0;
  /** `onStop` has been started (after a stop or a crash); it runs once. */
  cleanupStarted = false;
  startPromise: Promise<void> | undefined = undefined;
  /** Why the agent failed. */
  error: unknown = undefined;
  /** The `agent.start` span, when traced: decisions link to it, `agent.terminate` is its child. */
  startSpan: SpanContext | undefined = undefined;
  /** When `stop()` was first called (ms since the epoch), recorded only while tracing, for the terminate span. */
  stopBeganAt = 0;
}
