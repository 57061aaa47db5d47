import type { SpanContext } from '@opentelemetry/api';
import { agentStepChannel, runInTenant, type TenantContext, tracingEnabled } from '../context/index.ts';
import { isRefusal } from '../errors/index.ts';
import type { WorkerPool } from '../pool/index.ts';
import type { AgentContext, AgentDefinition } from './agent-definition.ts';
import { tracedStep } from './agent-tracing.ts';
import { AgentStepFailedError } from './errors.ts';
import type { AgentState } from './lifecycle.ts';
import { Mailbox } from './mailbox.ts';
import type { Message } from './message.ts';

/**
 * What the step runner needs of its agent: the agent implements it with its public members
 * (identity, tenant, state, `fail`), so the runner reaches nothing private.
 */
export interface StepSite<Config, Memory> extends AgentContext<Config, Memory> {
  readonly tenant: string | undefined;
  readonly tenantContext: TenantContext | undefined;
  readonly state: AgentState;
}

// biome-ignore lint/suspicious/noExplicitAny: the runner never reads the input or output types; `Input` is contravariant.
type StepDefinition<Config, Memory> = AgentDefinition<any, any, Config, Memory>;

/**
 * Moves an agent's messages from its mailbox onto the runtime's worker pool and settles
 * them: `dispatch` runs a step now when the pool has a free slot (synchronously, allocating
 * no closure or promise for a step that completes synchronously), else queues it in the
 * pool; `finish` settles the message and counts it; `pump` dispatches waiting messages while
 * there is room. It extends the mailbox and is the base of `AgentActivity`, so an agent's
 * work is one allocation, made only once the agent gets work.
 */
export class StepRunner<Config, Memory> extends Mailbox<Config, Memory> {
  readonly #site: StepSite<Config, Memory>;
  readonly #def: StepDefinition<Config, Memory>;
  readonly #pool: WorkerPool;
  // Closures over this runner, made on first use (once per agent, never per message): the
  // tenant context and the trace span take a function and an argument.
  #stepOf: ((message: Message<Config, Memory>) => unknown) | undefined = undefined;
  #stepInTenantOf: ((message: Message<Config, Memory>) => unknown) | undefined = undefined;
  /** Messages handled successfully. */
  handled = 0;
  /** Messages whose step threw. */
  failedMessages = 0;
  /** The `agent.start` span, when traced: decisions link to it, `agent.terminate` is its child. */
  startSpan: SpanContext | undefined = undefined;

  constructor(site: StepSite<Config, Memory>, def: StepDefinition<Config, Memory>, pool: WorkerPool) {
    super();
    this.#site = site;
    this.#def = def;
    this.#pool = pool;
  }

  /** Hands a message to the pool: runs it now when a slot is free, else queues it there. */
  dispatch(message: Message<Config, Memory>): void {
    this.inFlight!.add(message);
    const pool = this.#pool;
    if (!pool.tryAcquire()) {
      // Queued in the pool: the sender's signal still abandons it there (ABORTED, slot freed).
      const signal = message.senderSignal;
      pool
        .run(() => this.#runStep(message), signal === undefined ? undefined : { signal })
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

  /** Dispatches queued messages while there is room. Re-entrant calls (sync steps) fold into the loop. */
  pump(): void {
    if (this.pumping) return;
    if (this.queued > 0 && this.#mayRun()) {
      this.pumping = true;
      try {
        const limit = this.#def.concurrency;
        const inFlight = this.inFlight!;
        while (this.queued > 0 && inFlight.size < limit && this.#mayRun()) this.dispatch(this.shift()!);
      } finally {
        this.pumping = false;
      }
    }
    this.checkIdle();
  }

  /** Steps run while the agent is running, or while a drain-stop handles its mailbox. */
  #mayRun(): boolean {
    return this.#site.state === 'running' || this.draining;
  }

  /** Runs the step in the owning tenant's context, whoever sent the message. */
  #runStep(message: Message<Config, Memory>): unknown {
    if (agentStepChannel.hasSubscribers) message.startedAt = performance.now();
    if (tracingEnabled()) {
      const site = this.#site;
      this.#stepInTenantOf ??= (m) => this.#stepInTenant(m);
      return tracedStep(
        site.agentId,
        this.#def.name,
        site.tenant,
        this.startSpan,
        this.#stepInTenantOf,
        message,
      );
    }
    return this.#stepInTenant(message);
  }

  #stepInTenant(message: Message<Config, Memory>): unknown {
    const tenant = this.#site.tenantContext;
    if (tenant === undefined) return this.#step(message);
    this.#stepOf ??= (m) => this.#step(m);
    return runInTenant(tenant, this.#stepOf, message);
  }

  #step(message: Message<Config, Memory>): unknown {
    if (message.cancelled) return undefined; // the agent stopped while this waited for a pool slot
    message.started = true;
    return runStep(this.#def, message);
  }

  #finish(message: Message<Config, Memory>, value: unknown, error: unknown, ok: boolean): void {
    if (!this.inFlight!.delete(message)) return; // already rejected by a forced stop
    if (message.startedAt !== 0 && agentStepChannel.hasSubscribers) {
      agentStepChannel.publish({
        definition: this.#def.name,
        durationMs: performance.now() - message.startedAt,
        ok,
      });
    }
    if (ok) {
      this.handled++;
      message.resolve(value);
    } else if (!message.started) {
      message.reject(error); // the pool refused it (overloaded, closed, or its sender abandoned it there)
    } else if (isRefusal(error)) {
      message.reject(error); // a limit refused the step's work (a budget): the sender sees why, the agent goes on
    } else {
      this.failedMessages++;
      message.reject(new AgentStepFailedError(this.#site.agentId, error));
      if (this.#def.onStepError === 'fail') this.#site.fail(error);
    }
    this.pump();
  }
}

/**
 * Runs one message through Perception → Cognition → Action. Synchronous stages stay
 * synchronous (a step that never awaits allocates no promise); the first thenable switches
 * to promise chaining. Returns the action's reply, or a promise of it.
 */
export function runStep<Input, Config, Memory>(
  def: AgentDefinition<Input, unknown, Config, Memory>,
  message: Message<Config, Memory>,
): unknown {
  const percept = def.perceive === undefined ? message.input : def.perceive(message.input as Input, message);
  return isThenable(percept) ? percept.then((p) => decide(def, p, message)) : decide(def, percept, message);
}

function decide<Input, Config, Memory>(
  def: AgentDefinition<Input, unknown, Config, Memory>,
  percept: unknown,
  message: Message<Config, Memory>,
): unknown {
  const decision = def.decide(percept, message);
  return isThenable(decision) ? decision.then((d) => act(def, d, message)) : act(def, decision, message);
}

function act<Input, Config, Memory>(
  def: AgentDefinition<Input, unknown, Config, Memory>,
  decision: unknown,
  message: Message<Config, Memory>,
): unknown {
  if (tracingEnabled()) message.decision = decision; // the span's decision.* attributes
  const act = def.act;
  return act === undefined ? decision : act(decision as never, message);
}

/** True for a promise or any object with a `then` method. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}
