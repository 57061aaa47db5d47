import { StepRunner } from './step-runner.ts';

/** Marks memory not created yet (a definition's `memory()` may return undefined). */
export const UNSET: unique symbol = Symbol('unset');

/**
 * The part of an agent that only exists once it does more than sit idle: its mailbox and step
 * runner (the base classes, so one allocation), run signal, memory, a start or stop in
 * progress, a failure. An idle agent (most of a large fleet) never allocates one, which keeps
 * the agent itself to a handful of fields (see `bench/idle-agents.bench.ts`).
 */
export class AgentActivity<Config, Memory> extends StepRunner<Config, Memory> {
  memory: Memory | typeof UNSET = UNSET;
  controller: AbortController | undefined = undefined;
  /** `onStop` has been started (after a stop or a crash); it runs once. */
  cleanupStarted = false;
  startPromise: Promise<void> | undefined = undefined;
  /** Why the agent failed. */
  error: unknown = undefined;
  /** When `stop()` was first called (ms since the epoch), recorded only while tracing, for the terminate span. */
  stopBeganAt = 0;
}
