import type { SpanContext } from '@opentelemetry/api';
import Denque from 'denque';
import { AbortedError, AgentfleetError, formatIssues, InvalidOptionsError } from '../errors/index.ts';
import { agentStepChannel } from '../observability/events.ts';
import { tracingEnabled } from '../observability/trace-hooks.ts';
import { runInTenant, type TenantContext } from '../tenancy/context.ts';
import type { AgentContext, AgentDefinition } from './agent-definition.ts';
import type { AgentHost } from './agent-host.ts';
import { agentTerminateSpan, startAgentSpan, tracedStep } from './agent-tracing.ts';
import {
  AgentNotRunningError,
  AgentStartFailedError,
  AgentStepFailedError,
  AgentStoppedError,
  InvalidInputError,
  MailboxFullError,
} from './errors.ts';
import { type AgentState, canTransition, IllegalTransitionError, isFinal } from './lifecycle.ts';
import { Message } from './message.ts';
import { FAILED, STOPPED, type StopOptions, type StopResult } from './stop-result.ts';

const RESOLVED: Promise<void> = Promise.resolve();
const RESOLVED_STOPPED: Promise<StopResult> = Promise.resolve(STOPPED);
const UNSET: unique symbol = Symbol('unset');
const TIMED_OUT: unique symbol = Symbol('timed-out');

/** Options for `agent.send()` and `runtime.send()`. */
export interface SendOptions {
  /** Abandons the message while it waits in the mailbox, and is passed to the step as part of `ctx.signal`. */
  signal?: AbortSignal;
  /** Receives progress events the step emits with `ctx.emit` (an LLM agent's text deltas and tool calls), e.g. to stream them to a client. */
  onEvent?: (event: unknown) => void;
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
  /** Why the agent failed, when it did. */
  error?: { code?: string; message: string };
}

/**
 * A running instance of an agent definition: its lifecycle, mailbox and run signal.
 * The agent is also the context its hooks receive. Create agents with `runtime.create()`
 * or `runtime.spawn()`, not with `new`.
 */
export class Agent<Input = unknown, Output = unknown, Config = unknown, Memory = unknown>
  implements AgentContext<Config, Memory>
{
  readonly agentId: string;
  readonly config: Config;
  /** The tenant that owns the agent (its steps and hooks run in that tenant's context), if any. */
  readonly tenantContext: TenantContext | undefined;
  readonly #def: AgentDefinition<Input, Output, Config, Memory>;
  readonly #host: AgentHost;
  readonly #createdAt: number;
  #state: AgentState = 'pending';
  #memory: Memory | typeof UNSET = UNSET;
  #controller: AbortController | undefined = undefined;
  #mailbox: Denque<Message<Config, Memory>> | undefined = undefined;
  #inFlight: Set<Message<Config, Memory>> | undefined = undefined;
  #handled = 0;
  #failedMessages = 0;
  #draining = false;
  #pumping = false;
  #cleanupStarted = false;
  #startPromise: Promise<void> | undefined = undefined;
  #stopPromise: Promise<StopResult> | undefined = undefined;
  #idleWaiter: PromiseWithResolvers<void> | undefined = undefined;
  #error: unknown = undefined;
  /** The `agent.start` span, when traced: decisions link to it, `agent.terminate` is its child. */
  #startSpan: SpanContext | undefined = undefined;
  /** When `stop()` was first called (ms since the epoch), for the terminate span. */
  #stopBeganAt = 0;
  /** Whether stopping rejected messages that were waiting (termination reason `stopped`). */
  #droppedOnStop = false;

  /** @internal Use `runtime.create()`. */
  constructor(
    host: AgentHost,
    definition: AgentDefinition<Input, Output, Config, Memory>,
    id: string,
    config: Config,
    tenant?: TenantContext,
  ) {
    this.tenantContext = tenant;
    this.#host = host;
    this.#def = definition;
    this.agentId = id;
    this.config = config;
    this.#createdAt = Date.now();
  }

  /** The owning tenant's id, if any. */
  get tenant(): string | undefined {
    return this.tenantContext?.id;
  }

  /** The definition's name. */
  get definition(): string {
    return this.#def.name;
  }

  /** The current lifecycle state. */
  get state(): AgentState {
    return this.#state;
  }

  /** Why the agent failed, if it did. */
  get error(): unknown {
    return this.#error;
  }

  get memory(): Memory {
    if (this.#memory === UNSET) {
      this.#memory = this.#def.memory === undefined ? (undefined as Memory) : this.#def.memory(this.config);
    }
    return this.#memory;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#state !== 'pending' && this.#state !== 'running')
        this.#controller.abort(this.#stoppedError());
      else if (this.#stopPromise !== undefined) this.#controller.abort(this.#stoppedError());
    }
    return this.#controller.signal;
  }

  /**
   * Starts the agent: runs `onStart`, then moves it to `running`. Starting a running agent
   * is a no-op; concurrent calls share one start.
   * @throws IllegalTransitionError (`ILLEGAL_TRANSITION`) for a stopping, stopped or failed agent.
   * @throws AgentStartFailedError (`AGENT_START_FAILED`) when `onStart` throws; the agent is then failed.
   */
  start(): Promise<void> {
    if (tracingEnabled() && this.#state === 'pending' && this.#startPromise === undefined) {
      const { spanContext, end } = startAgentSpan(this.agentId, this.#def, this.tenant);
      this.#startSpan = spanContext;
      const started = this.#start();
      started.then(() => end(undefined), end);
      return started;
    }
    return this.#start();
  }

  #start(): Promise<void> {
    const state = this.#state;
    if (state === 'running') return RESOLVED;
    if (state !== 'pending' || this.#stopPromise !== undefined) {
      return Promise.reject(new IllegalTransitionError(this.agentId, state, 'running', 'start'));
    }
    if (this.#startPromise !== undefined) return this.#startPromise;
    const onStart = this.#def.onStart;
    if (onStart === undefined) {
      this.#transition('running');
      return RESOLVED;
    }
    const tenant = this.tenantContext;
    this.#startPromise =
      tenant === undefined ? this.#runStart(onStart) : runInTenant(tenant, () => this.#runStart(onStart));
    return this.#startPromise;
  }

  /**
   * Stops the agent gracefully: stops taking messages, rejects (or with `drain`, handles)
   * queued ones, aborts `signal`, waits for in-flight messages and `onStop` up to the
   * deadline, then forces it to `stopped` and reports `forced: true`. Throws only for bad
   * options; otherwise never rejects, and
   * concurrent calls share one stop.
   */
  stop(options: StopOptions = {}): Promise<StopResult> {
    if (this.#stopPromise !== undefined) return this.#stopPromise;
    if (this.#stopBeganAt === 0) this.#stopBeganAt = Date.now();
    checkStopOptions(options);
    switch (this.#state) {
      case 'stopped':
        return RESOLVED_STOPPED;
      case 'failed':
        return Promise.resolve(this.#failedResult());
      case 'pending':
        if (this.#startPromise === undefined) {
          this.#transition('stopped');
          this.#stopPromise = RESOLVED_STOPPED;
        } else {
          const tenant = this.tenantContext;
          this.#stopPromise =
            tenant === undefined
              ? this.#stopWhileStarting(options)
              : runInTenant(tenant, () => this.#stopWhileStarting(options));
        }
        return this.#stopPromise;
      default:
        this.#transition('stopping');
        if (this.#isIdle() && this.#def.onStop === undefined) {
          this.#abortRun();
          this.#transition('stopped');
          this.#stopPromise = RESOLVED_STOPPED;
        } else {
          const tenant = this.tenantContext;
          this.#stopPromise =
            tenant === undefined
              ? this.#shutdown(options, this.#deadlineMs(options))
              : runInTenant(tenant, () => this.#shutdown(options, this.#deadlineMs(options)));
        }
        return this.#stopPromise;
    }
  }

  /**
   * Sends a message through Perception → Cognition → Action and resolves with the action's
   * result. Messages are handled `concurrency` at a time, in order, on the runtime's pool.
   * Rejects with `AGENT_NOT_RUNNING`, `INVALID_INPUT`, `MAILBOX_FULL`, `POOL_OVERLOADED`,
   * `ABORTED`, `AGENT_STOPPED` or `AGENT_STEP_FAILED` (the step's error is its `cause`).
   */
  send(input: Input, options?: SendOptions): Promise<Output> {
    if (this.#state !== 'running') return Promise.reject(new AgentNotRunningError(this.agentId, this.#state));
    const def = this.#def;
    let value: unknown = input;
    if (def.input !== undefined) {
      const parsed = def.input.safeParse(input);
      if (!parsed.success) {
        return Promise.reject(new InvalidInputError('message', this.agentId, formatIssues(parsed.error)));
      }
      value = parsed.data;
    }
    const signal = options?.signal;
    if (signal?.aborted) {
      return Promise.reject(
        new AbortedError('The message was abandoned before it was sent.', { cause: signal.reason }),
      );
    }
    if (this.tenantContext !== undefined) {
      const refusal = this.#host.admitMessage(this);
      if (refusal !== undefined) return Promise.reject(refusal);
    }
    const message = new Message<Config, Memory>(this, value, signal, options?.onEvent);
    if (this.tenantContext !== undefined) this.#host.trackMessage(this, message.promise);
    if (this.#inFlight === undefined) this.#inFlight = new Set();
    const inFlight = this.#inFlight;
    const mailbox = this.#mailbox;
    if (inFlight.size < def.concurrency && (mailbox === undefined || mailbox.length === 0)) {
      this.#dispatch(message);
    } else {
      const capacity = def.mailboxCapacity ?? this.#host.mailboxCapacity;
      if (this.#mailbox === undefined) this.#mailbox = new Denque();
      const queue = this.#mailbox;
      if (queue.length >= capacity) return Promise.reject(new MailboxFullError(this.agentId, capacity));
      queue.push(message);
      if (signal !== undefined) {
        message.onSenderAbort = () => this.#abandon(message);
        signal.addEventListener('abort', message.onSenderAbort, { once: true });
      }
    }
    return message.promise as Promise<Output>;
  }

  /** Moves the agent to `failed` because of a crash, aborts its signal and rejects queued messages. */
  fail(error: unknown): void {
    const from = this.#state;
    if (isFinal(from)) {
      this.#host.reportError(this, error);
      return;
    }
    this.#error = error;
    this.#transition('failed', false, error);
    this.#abortRun(error);
    this.#rejectQueued();
    this.#rejectUnstarted();
    this.#checkIdle();
    if (from !== 'pending' && this.#def.onStop !== undefined && !this.#cleanupStarted) {
      this.#cleanupStarted = true;
      this.#host.track(this.#cleanupAfterCrash(this.#def.onStop));
    }
  }

  /** A snapshot for APIs and consoles. */
  info(): AgentInfo {
    const info: AgentInfo = {
      id: this.agentId,
      definition: this.#def.name,
      state: this.#state,
      createdAt: this.#createdAt,
      inFlight: this.#inFlight?.size ?? 0,
      queued: this.#mailbox?.length ?? 0,
      handled: this.#handled,
      failedMessages: this.#failedMessages,
    };
    if (this.tenantContext !== undefined) info.tenant = this.tenantContext.id;
    if (this.#state === 'failed' && this.#error !== undefined) info.error = describeError(this.#error);
    return info;
  }

  async #runStart(onStart: (ctx: AgentContext<Config, Memory>) => unknown): Promise<void> {
    try {
      await onStart(this);
    } catch (error) {
      if (this.#state === 'pending') {
        this.#error = error;
        this.#transition('failed', false, error);
        this.#abortRun(error);
      }
      throw new AgentStartFailedError(this.agentId, error);
    }
    if (this.#state === 'failed') throw new AgentStartFailedError(this.agentId, this.#error);
    if (this.#state !== 'pending') throw new AgentStoppedError(this.agentId, this.#state, true);
    this.#transition('running');
    if (this.#stopPromise !== undefined) this.#transition('stopping');
  }

  async #stopWhileStarting(options: StopOptions): Promise<StopResult> {
    const timeoutMs = this.#deadlineMs(options);
    const began = performance.now();
    this.#abortRun();
    const deadline = startDeadline(timeoutMs);
    const outcome = await Promise.race([this.#startPromise!.then(noop, noop), deadline.promise]);
    deadline.cancel();
    if (outcome === TIMED_OUT && this.#state === 'pending') {
      this.#transition('stopped', true);
      return { state: 'stopped', forced: true };
    }
    if (this.#state === 'stopping') {
      return this.#shutdown(options, Math.max(0, timeoutMs - (performance.now() - began)));
    }
    return this.#state === 'failed' ? this.#failedResult() : STOPPED;
  }

  async #shutdown(options: StopOptions, timeoutMs: number): Promise<StopResult> {
    const deadline = startDeadline(timeoutMs);
    let timedOut = false;
    let hookError: unknown;
    try {
      if (options.drain === true && !this.#isIdle()) {
        this.#draining = true;
        this.#pump();
        timedOut = (await Promise.race([this.#whenIdle(), deadline.promise])) === TIMED_OUT;
        this.#draining = false;
      }
      this.#rejectQueued();
      this.#rejectUnstarted();
      this.#abortRun();
      if (!timedOut && !this.#isIdle()) {
        timedOut = (await Promise.race([this.#whenIdle(), deadline.promise])) === TIMED_OUT;
      }
      const onStop = this.#def.onStop;
      if (!timedOut && onStop !== undefined && !this.#cleanupStarted && this.#state === 'stopping') {
        this.#cleanupStarted = true;
        const outcome = await Promise.race([runHook(onStop, this), deadline.promise]);
        if (outcome === TIMED_OUT) timedOut = true;
        else hookError = outcome;
      }
    } finally {
      deadline.cancel();
    }
    if (this.#state !== 'stopping') return this.#state === 'failed' ? this.#failedResult() : STOPPED;
    if (timedOut) {
      this.#rejectInFlight(new AgentStoppedError(this.agentId, 'stopped', true));
      this.#transition('stopped', true);
      return { state: 'stopped', forced: true };
    }
    if (hookError !== undefined) {
      this.#error = (hookError as HookFailure).error;
      this.#transition('failed', false, this.#error);
      return this.#failedResult();
    }
    this.#transition('stopped');
    return STOPPED;
  }

  async #cleanupAfterCrash(onStop: (ctx: AgentContext<Config, Memory>) => unknown): Promise<void> {
    const deadline = startDeadline(this.#deadlineMs({}));
    const outcome = await Promise.race([runHook(onStop, this), deadline.promise]);
    deadline.cancel();
    if (outcome === TIMED_OUT)
      this.#host.reportError(this, new AgentStoppedError(this.agentId, 'failed', true));
    else if (outcome !== undefined) this.#host.reportError(this, outcome.error);
  }

  #dispatch(message: Message<Config, Memory>): void {
    this.#inFlight!.add(message);
    const pool = this.#host.pool;
    if (!pool.tryAcquire()) {
      pool
        .run(() => this.#runStep(message))
        .then(
          (value: unknown) => this.#finish(message, value, undefined, true),
          (error: unknown) => this.#finish(message, undefined, error, false),
        );
      return;
    }
    // Hot path: a free slot, so run now; a step that completes synchronously allocates no promise.
    let result: unknown;
    try {
      result = this.#runStep(message);
    } catch (error) {
      pool.release(false);
      this.#finish(message, undefined, error, false);
      return;
    }
    if (!isThenable(result)) {
      pool.release(true);
      this.#finish(message, result, undefined, true);
      return;
    }
    result.then(
      (value: unknown) => {
        pool.release(true);
        this.#finish(message, value, undefined, true);
      },
      (error: unknown) => {
        pool.release(false);
        this.#finish(message, undefined, error, false);
      },
    );
  }

  /** Runs the step in the owning tenant's context, whoever sent the message. */
  #runStep(message: Message<Config, Memory>): unknown {
    if (agentStepChannel.hasSubscribers) message.startedAt = performance.now();
    if (tracingEnabled())
      return tracedStep(
        this.agentId,
        this.#def.name,
        this.tenant,
        this.#startSpan,
        this.#stepInTenantFn,
        message,
      );
    return this.#stepInTenant(message);
  }

  readonly #stepInTenantFn = (message: Message<Config, Memory>): unknown => this.#stepInTenant(message);

  #stepInTenant(message: Message<Config, Memory>): unknown {
    const tenant = this.tenantContext;
    return tenant === undefined ? this.#step(message) : runInTenant(tenant, this.#stepFn, message);
  }

  readonly #stepFn = (message: Message<Config, Memory>): unknown => this.#step(message);

  #step(message: Message<Config, Memory>): unknown {
    if (message.cancelled) return undefined; // the agent stopped while this waited for a pool slot
    message.started = true;
    const def = this.#def;
    const percept =
      def.perceive === undefined ? message.input : def.perceive(message.input as Input, message);
    return isThenable(percept)
      ? percept.then((p) => this.#decide(p, message))
      : this.#decide(percept, message);
  }

  #decide(percept: unknown, message: Message<Config, Memory>): unknown {
    const decision = this.#def.decide(percept, message);
    return isThenable(decision) ? decision.then((d) => this.#act(d, message)) : this.#act(decision, message);
  }

  #act(decision: unknown, message: Message<Config, Memory>): unknown {
    const act = this.#def.act;
    return act === undefined ? decision : act(decision as never, message);
  }

  #finish(message: Message<Config, Memory>, value: unknown, error: unknown, ok: boolean): void {
    if (!this.#inFlight!.delete(message)) return; // already rejected by a forced stop
    if (message.startedAt !== 0 && agentStepChannel.hasSubscribers) {
      agentStepChannel.publish({
        definition: this.#def.name,
        durationMs: performance.now() - message.startedAt,
        ok,
      });
    }
    if (ok) {
      this.#handled++;
      message.resolve(value);
    } else if (!message.started) {
      message.reject(error); // the pool refused it (overloaded or closed)
    } else {
      this.#failedMessages++;
      message.reject(new AgentStepFailedError(this.agentId, error));
      if (this.#def.onStepError === 'fail') this.fail(error);
    }
    this.#pump();
  }

  /** Dispatches queued messages while there is room. Re-entrant calls (sync steps) fold into the loop. */
  #pump(): void {
    if (this.#pumping) return;
    const mailbox = this.#mailbox;
    if (mailbox !== undefined && (this.#state === 'running' || this.#draining)) {
      this.#pumping = true;
      try {
        const limit = this.#def.concurrency;
        const inFlight = this.#inFlight!;
        while (mailbox.length > 0 && inFlight.size < limit && (this.#state === 'running' || this.#draining)) {
          const next = mailbox.shift()!;
          detachAbort(next);
          this.#dispatch(next);
        }
      } finally {
        this.#pumping = false;
      }
    }
    this.#checkIdle();
  }

  #abandon(message: Message<Config, Memory>): void {
    const mailbox = this.#mailbox;
    if (mailbox === undefined) return;
    for (let i = 0; i < mailbox.length; i++) {
      if (mailbox.peekAt(i) === message) {
        mailbox.removeOne(i);
        message.onSenderAbort = undefined;
        message.reject(
          new AbortedError('The sender abandoned the message before the agent took it.', {
            cause: message.senderSignal?.reason,
          }),
        );
        this.#checkIdle();
        return;
      }
    }
  }

  /** Rejects every message still in the mailbox with AGENT_STOPPED. */
  #rejectQueued(): void {
    const mailbox = this.#mailbox;
    if (mailbox === undefined || mailbox.length === 0) return;
    const error = this.#stoppedError();
    this.#droppedOnStop = true;
    while (mailbox.length > 0) {
      const message = mailbox.shift()!;
      detachAbort(message);
      message.reject(error);
    }
  }

  /** Messages handed to the pool that have not started yet are treated like queued ones. */
  #rejectUnstarted(): void {
    const inFlight = this.#inFlight;
    if (inFlight === undefined || inFlight.size === 0) return;
    let error: AgentStoppedError | undefined;
    for (const message of inFlight) {
      if (message.started) continue;
      error ??= this.#stoppedError();
      this.#droppedOnStop = true;
      message.cancelled = true;
      inFlight.delete(message);
      message.reject(error);
    }
  }

  #rejectInFlight(error: Error): void {
    const inFlight = this.#inFlight;
    if (inFlight === undefined) return;
    for (const message of inFlight) message.reject(error);
    inFlight.clear();
    this.#checkIdle();
  }

  #isIdle(): boolean {
    return (this.#inFlight === undefined || this.#inFlight.size === 0) && (this.#mailbox?.length ?? 0) === 0;
  }

  #whenIdle(): Promise<void> {
    if (this.#isIdle()) return RESOLVED;
    this.#idleWaiter ??= Promise.withResolvers<void>();
    return this.#idleWaiter.promise;
  }

  #checkIdle(): void {
    if (this.#idleWaiter !== undefined && this.#isIdle()) {
      this.#idleWaiter.resolve();
      this.#idleWaiter = undefined;
    }
  }

  /** Aborts the run signal, if anyone has asked for it; the reason is the crash or AGENT_STOPPED. */
  #abortRun(reason?: unknown): void {
    if (this.#controller !== undefined && !this.#controller.signal.aborted) {
      this.#controller.abort(reason ?? this.#stoppedError());
    }
  }

  #transition(to: AgentState, forced = false, error?: unknown): void {
    const from = this.#state;
    if (!canTransition(from, to)) throw new IllegalTransitionError(this.agentId, from, to, `move to ${to}`);
    this.#state = to;
    this.#host.recordTransition(this, from, to, forced, error);
    if ((to === 'stopped' || to === 'failed') && tracingEnabled()) {
      const reason =
        to === 'failed' ? 'error' : forced ? 'timeout' : this.#droppedOnStop ? 'stopped' : 'success';
      agentTerminateSpan(this.agentId, this.tenant, this.#startSpan, reason, this.#stopBeganAt, error);
    }
  }

  #deadlineMs(options: StopOptions): number {
    return options.timeoutMs ?? this.#def.stopTimeoutMs ?? this.#host.stopTimeoutMs;
  }

  #stoppedError(): AgentStoppedError {
    return new AgentStoppedError(this.agentId, this.#state);
  }

  #failedResult(): StopResult {
    return this.#error === undefined ? FAILED : { state: 'failed', forced: false, error: this.#error };
  }
}

interface HookFailure {
  error: unknown;
}

async function runHook<C>(hook: (ctx: C) => unknown, ctx: C): Promise<HookFailure | undefined> {
  try {
    await hook(ctx);
    return undefined;
  } catch (error) {
    return { error };
  }
}

function startDeadline(ms: number): { promise: Promise<typeof TIMED_OUT>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(resolve, ms, TIMED_OUT);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

function checkStopOptions(options: StopOptions): void {
  const ms = options.timeoutMs;
  if (ms !== undefined && !(Number.isFinite(ms) && ms >= 0)) {
    throw new InvalidOptionsError(`stop timeoutMs must be a finite number of milliseconds >= 0, got ${ms}.`);
  }
}

function detachAbort(message: Message<unknown, unknown>): void {
  if (message.onSenderAbort !== undefined) {
    message.senderSignal!.removeEventListener('abort', message.onSenderAbort);
    message.onSenderAbort = undefined;
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

function noop(): void {}

function describeError(error: unknown): { code?: string; message: string } {
  if (AgentfleetError.isInstance(error)) return { code: error.code, message: error.message };
  return { message: error instanceof Error ? error.message : String(error) };
}
