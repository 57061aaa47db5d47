import { runInTenant, type TenantContext, tracingEnabled } from '../context/index.ts';
import { AbortedError, formatIssues } from '../errors/index.ts';
import { AgentActivity, UNSET } from './agent-activity.ts';
import type { AgentContext, AgentDefinition } from './agent-definition.ts';
import type { AgentHost } from './agent-host.ts';
import { type AgentInfo, describeError, type SendOptions } from './agent-info.ts';
import { agentTerminateSpan, startAgentSpan } from './agent-tracing.ts';
import {
  AgentNotRunningError,
  AgentStartFailedError,
  AgentStoppedError,
  InvalidInputError,
  MailboxFullError,
} from './errors.ts';
import { type AgentState, canTransition, IllegalTransitionError, isFinal } from './lifecycle.ts';
import { Message } from './message.ts';
import type { StepSite } from './step-runner.ts';
import { type HookFailure, noop, runHook, startDeadline, TIMED_OUT } from './stop-deadline.ts';
import { FAILED, STOPPED, type StopOptions, type StopResult, stopOptionsError } from './stop-result.ts';

const RESOLVED: Promise<void> = Promise.resolve();
const RESOLVED_STOPPED: Promise<StopResult> = Promise.resolve(STOPPED);
const NO_OPTIONS: StopOptions = Object.freeze({});

/**
 * A running instance of an agent definition: its lifecycle, mailbox and run signal.
 * The agent is also the context its hooks receive. Create agents with `runtime.create()`
 * or `runtime.spawn()`, not with `new`.
 */
export class Agent<Input = unknown, Output = unknown, Config = unknown, Memory = unknown>
  implements AgentContext<Config, Memory>, StepSite<Config, Memory>
{
  readonly agentId: string;
  readonly config: Config;
  /** The tenant that owns the agent (its steps and hooks run in that tenant's context), if any. */
  readonly tenantContext: TenantContext | undefined;
  // An idle agent is these nine fields and nothing else: no closure, collection or promise of
  // its own (bench/idle-agents.bench.ts). Everything else waits in #activity until needed.
  readonly #def: AgentDefinition<Input, Output, Config, Memory>;
  readonly #host: AgentHost;
  readonly #createdAt: number;
  #state: AgentState = 'pending';
  #stopPromise: Promise<StopResult> | undefined = undefined;
  #activity: AgentActivity<Config, Memory> | undefined = undefined;

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

  /** The version of the agent's definition. */
  get version(): string {
    return this.#def.version;
  }

  /** The state rules of the agent's definition, or undefined for the state store's own. */
  get stateRules(): AgentDefinition['state'] {
    return this.#def.state;
  }

  /** The definition's name. */
  get definition(): string {
    return this.#def.name;
  }

  /** Whether the agent's runs are durable (its definition's `durable`): a client's disconnect is not a cancel. */
  get durable(): boolean {
    return this.#def.durable;
  }

  /** The current lifecycle state. */
  get state(): AgentState {
    return this.#state;
  }

  /** Why the agent failed, if it did. */
  get error(): unknown {
    return this.#activity?.error;
  }

  get memory(): Memory {
    const create = this.#def.memory;
    if (create === undefined) return undefined as Memory;
    const activity = this.#work();
    if (activity.memory === UNSET) activity.memory = create(this.config);
    return activity.memory;
  }

  get signal(): AbortSignal {
    const activity = this.#work();
    if (activity.controller === undefined) {
      const controller = new AbortController();
      activity.controller = controller;
      if (this.#state !== 'pending' && this.#state !== 'running') controller.abort(this.#stoppedError());
      else if (this.#stopPromise !== undefined) controller.abort(this.#stoppedError());
    }
    return activity.controller.signal;
  }

  /**
   * Starts the agent: runs `onStart`, then moves it to `running`. Starting a running agent
   * is a no-op; concurrent calls share one start.
   * @throws IllegalTransitionError (`ILLEGAL_TRANSITION`) for a stopping, stopped or failed agent.
   * @throws AgentStartFailedError (`AGENT_START_FAILED`) when `onStart` throws; the agent is then failed.
   */
  start(): Promise<void> {
    if (tracingEnabled() && this.#state === 'pending' && this.#activity?.startPromise === undefined) {
      const { spanContext, end } = startAgentSpan(this.agentId, this.#def, this.tenant);
      this.#work().startSpan = spanContext;
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
    const starting = this.#activity?.startPromise;
    if (starting !== undefined) return starting;
    const onStart = this.#def.onStart;
    if (onStart === undefined) {
      this.#transition('running');
      return RESOLVED;
    }
    const tenant = this.tenantContext;
    const started =
      tenant === undefined ? this.#runStart(onStart) : runInTenant(tenant, () => this.#runStart(onStart));
    this.#work().startPromise = started;
    return started;
  }

  /**
   * Stops the agent gracefully: stops taking messages, rejects (or with `drain`, handles)
   * queued ones, aborts `signal`, waits for in-flight messages and `onStop` up to the
   * deadline, then forces it to `stopped` and reports `forced: true`. Rejects only for bad
   * options (`INVALID_OPTIONS`, and nothing is stopped); concurrent calls share one stop.
   */
  stop(options?: StopOptions): Promise<StopResult> {
    if (this.#stopPromise !== undefined) return this.#stopPromise;
    if (options === undefined) options = NO_OPTIONS;
    else {
      const invalid = stopOptionsError(options);
      if (invalid !== undefined) return Promise.reject(invalid);
    }
    if (tracingEnabled()) {
      const activity = this.#work();
      if (activity.stopBeganAt === 0) activity.stopBeganAt = Date.now();
    }
    switch (this.#state) {
      case 'stopped':
        return RESOLVED_STOPPED;
      case 'failed':
        return Promise.resolve(this.#failedResult());
      case 'pending':
        if (this.#activity?.startPromise === undefined) {
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
    const activity = this.#work();
    if (activity.inFlight === undefined) activity.inFlight = new Set();
    const direct = activity.inFlight.size < def.concurrency && activity.queued === 0;
    if (!direct) {
      const capacity = def.mailboxCapacity ?? this.#host.mailboxCapacity;
      if (activity.queued >= capacity) {
        return Promise.reject(new MailboxFullError(this.agentId, capacity));
      }
    }
    const message = new Message<Config, Memory>(this, value, signal, options?.onEvent, options?.run);
    if (this.tenantContext !== undefined) this.#host.trackMessage(this, message.promise);
    if (direct) activity.dispatch(message);
    else activity.enqueue(message);
    return message.promise as Promise<Output>;
  }

  /** Moves the agent to `failed` because of a crash, aborts its signal and rejects queued messages. */
  fail(error: unknown): void {
    const from = this.#state;
    if (isFinal(from)) {
      this.#host.reportError(this, error);
      return;
    }
    const activity = this.#work();
    activity.error = error;
    this.#transition('failed', false, error);
    this.#abortRun(error);
    this.#rejectQueued();
    this.#rejectUnstarted();
    this.#checkIdle();
    if (from !== 'pending' && this.#def.onStop !== undefined && !activity.cleanupStarted) {
      activity.cleanupStarted = true;
      this.#host.track(this.#cleanupAfterCrash(this.#def.onStop));
    }
  }

  /** A snapshot for APIs and consoles. */
  info(): AgentInfo {
    const activity = this.#activity;
    const info: AgentInfo = {
      id: this.agentId,
      definition: this.#def.name,
      state: this.#state,
      createdAt: this.#createdAt,
      inFlight: activity?.running ?? 0,
      queued: activity?.queued ?? 0,
      handled: activity?.handled ?? 0,
      failedMessages: activity?.failedMessages ?? 0,
    };
    if (this.tenantContext !== undefined) info.tenant = this.tenantContext.id;
    if (this.#def.durable) info.durable = true;
    const error = activity?.error;
    if (this.#state === 'failed' && error !== undefined) info.error = describeError(error);
    return info;
  }

  async #runStart(onStart: (ctx: AgentContext<Config, Memory>) => unknown): Promise<void> {
    try {
      await onStart(this);
    } catch (error) {
      if (this.#state === 'pending') {
        this.#work().error = error;
        this.#transition('failed', false, error);
        this.#abortRun(error);
      }
      throw new AgentStartFailedError(this.agentId, error);
    }
    if (this.#state === 'failed') throw new AgentStartFailedError(this.agentId, this.#activity?.error);
    if (this.#state !== 'pending') throw new AgentStoppedError(this.agentId, this.#state, true);
    this.#transition('running');
    if (this.#stopPromise !== undefined) this.#transition('stopping');
  }

  async #stopWhileStarting(options: StopOptions): Promise<StopResult> {
    const timeoutMs = this.#deadlineMs(options);
    const began = performance.now();
    this.#abortRun();
    const deadline = startDeadline(timeoutMs);
    const outcome = await Promise.race([this.#activity!.startPromise!.then(noop, noop), deadline.promise]);
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
    const activity = this.#work();
    try {
      if (options.drain === true && !this.#isIdle()) {
        activity.draining = true;
        activity.pump();
        timedOut = (await Promise.race([this.#whenIdle(), deadline.promise])) === TIMED_OUT;
        activity.draining = false;
      }
      this.#rejectQueued();
      this.#rejectUnstarted();
      this.#abortRun();
      if (!timedOut && !this.#isIdle()) {
        timedOut = (await Promise.race([this.#whenIdle(), deadline.promise])) === TIMED_OUT;
      }
      const onStop = this.#def.onStop;
      if (!timedOut && onStop !== undefined && !activity.cleanupStarted && this.#state === 'stopping') {
        activity.cleanupStarted = true;
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
      activity.error = (hookError as HookFailure).error;
      this.#transition('failed', false, activity.error);
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

  #rejectQueued(): void {
    this.#activity?.rejectQueued(() => this.#stoppedError());
  }

  #rejectUnstarted(): void {
    this.#activity?.rejectUnstarted(() => this.#stoppedError());
  }

  #rejectInFlight(error: Error): void {
    this.#activity?.rejectInFlight(error);
  }

  #isIdle(): boolean {
    return this.#activity?.isIdle() ?? true;
  }

  #whenIdle(): Promise<void> {
    return this.#activity?.whenIdle() ?? RESOLVED;
  }

  #checkIdle(): void {
    this.#activity?.checkIdle();
  }

  /** Aborts the run signal, if anyone has asked for it; the reason is the crash or AGENT_STOPPED. */
  #abortRun(reason?: unknown): void {
    const controller = this.#activity?.controller;
    if (controller !== undefined && !controller.signal.aborted) {
      controller.abort(reason ?? this.#stoppedError());
    }
  }

  /** The agent's activity record, created the first time it is needed. */
  #work(): AgentActivity<Config, Memory> {
    this.#activity ??= new AgentActivity<Config, Memory>(this, this.#def, this.#host.pool);
    return this.#activity;
  }

  #transition(to: AgentState, forced = false, error?: unknown): void {
    const from = this.#state;
    if (!canTransition(from, to)) throw new IllegalTransitionError(this.agentId, from, to, `move to ${to}`);
    this.#state = to;
    this.#host.recordTransition(this, from, to, forced, error);
    if ((to === 'stopped' || to === 'failed') && tracingEnabled()) {
      const activity = this.#activity;
      const reason =
        to === 'failed' ? 'error' : forced ? 'timeout' : activity?.droppedOnStop ? 'stopped' : 'success';
      agentTerminateSpan(
        this.agentId,
        this.tenant,
        activity?.startSpan,
        reason,
        activity?.stopBeganAt ?? 0,
        error,
      );
    }
  }

  #deadlineMs(options: StopOptions): number {
    return options.timeoutMs ?? this.#def.stopTimeoutMs ?? this.#host.stopTimeoutMs;
  }

  #stoppedError(): AgentStoppedError {
    return new AgentStoppedError(this.agentId, this.#state);
  }

  #failedResult(): StopResult {
    const error = this.#activity?.error;
    return error === undefined ? FAILED : { state: 'failed', forced: false, error };
  }
}
