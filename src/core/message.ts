import type { AgentContext, StepContext } from './agent-definition.ts';
import type { RunRequest } from './agent-info.ts';
import type { AgentStreamListener, AgentStreamPart } from './agent-stream.ts';

/**
 * One message on its way through an agent. It is also the step context handed to
 * perceive/decide/act, so accepting a message allocates one object plus its promise.
 */
export class Message<Config = unknown, Memory = unknown> implements StepContext<Config, Memory> {
  readonly input: unknown;
  /** The sender's signal: abandons the message while queued, and is part of `signal` while it runs. */
  readonly senderSignal: AbortSignal | undefined;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  readonly promise: Promise<unknown>;
  /** Set while the message waits in the mailbox and has an abort listener on `senderSignal`. */
  onSenderAbort: (() => void) | undefined = undefined;
  /** Set once the pool has started the step, to tell step errors from pool refusals. */
  started = false;
  /** Set when the agent stopped before the pool started the step: the step is skipped. */
  cancelled = false;
  /** `performance.now()` when the step began, if someone listens for step events; else 0. */
  startedAt = 0;
  /** While tracing: the decision cognition made (the `decision.*` span attributes come from it, not from the action's reply). */
  decision: unknown = undefined;
  /** Lazily combined agent + sender signal. */
  #signal: AbortSignal | undefined = undefined;
  /** @internal The agent handling the message. */
  readonly owner: AgentContext<Config, Memory>;

  readonly #onEvent: AgentStreamListener | undefined;
  readonly run: RunRequest | undefined;

  constructor(
    owner: AgentContext<Config, Memory>,
    input: unknown,
    senderSignal: AbortSignal | undefined,
    onEvent?: AgentStreamListener,
    run?: RunRequest,
  ) {
    this.owner = owner;
    this.#onEvent = onEvent;
    this.run = run;
    this.input = input;
    this.senderSignal = senderSignal;
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    this.promise = promise;
    this.resolve = resolve;
    this.reject = reject;
  }

  get agentId(): string {
    return this.owner.agentId;
  }
  get definition(): string {
    return this.owner.definition;
  }
  get version(): string {
    return this.owner.version;
  }
  get config(): Config {
    return this.owner.config;
  }
  get memory(): Memory {
    return this.owner.memory;
  }
  get signal(): AbortSignal {
    if (this.#signal === undefined) {
      const agentSignal = this.owner.signal;
      this.#signal =
        this.senderSignal === undefined ? agentSignal : AbortSignal.any([agentSignal, this.senderSignal]);
    }
    return this.#signal;
  }
  fail(error: unknown): void {
    this.owner.fail(error);
  }
  emit(part: AgentStreamPart): void {
    this.#onEvent?.(part);
  }
  get observed(): boolean {
    return this.#onEvent !== undefined;
  }
}
