import Denque from 'denque';
import { AbortedError } from '../errors/index.ts';
import type { Message } from './message.ts';

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * An agent's mailbox: the messages waiting their turn (in order) and the ones being handled,
 * with the idle wait a stop uses. Created lazily, only once an agent gets work (it is the base
 * of `StepRunner` and so of `AgentActivity`, so it costs no extra allocation); dispatching
 * belongs to the step runner.
 */
export class Mailbox<Config, Memory> {
  /** Messages waiting, oldest first; created on the first message that has to wait. */
  queue: Denque<Message<Config, Memory>> | undefined = undefined;
  /** Messages handed to the pool (started or waiting there for a slot). */
  inFlight: Set<Message<Config, Memory>> | undefined = undefined;
  /** A drain-stop is handling the mailbox: the pump runs although the agent is stopping. */
  draining = false;
  /** The pump is dispatching: re-entrant calls (sync steps) fold into its loop. */
  pumping = false;
  /** Stopping rejected messages that were waiting (termination reason `stopped`). */
  droppedOnStop = false;
  idleWaiter: PromiseWithResolvers<void> | undefined = undefined;

  /** Messages waiting. */
  get queued(): number {
    return this.queue?.length ?? 0;
  }

  /** Messages being handled. */
  get running(): number {
    return this.inFlight?.size ?? 0;
  }

  /** Queues a message; the sender's signal, if any, takes it out again while it waits. */
  enqueue(message: Message<Config, Memory>): void {
    this.queue ??= new Denque();
    this.queue.push(message);
    const signal = message.senderSignal;
    if (signal !== undefined) {
      message.onSenderAbort = () => this.abandon(message);
      signal.addEventListener('abort', message.onSenderAbort, { once: true });
    }
  }

  /** The next waiting message, its abort listener detached. */
  shift(): Message<Config, Memory> | undefined {
    const next = this.queue?.shift();
    if (next !== undefined) detachAbort(next);
    return next;
  }

  /** Rejects a waiting message with `ABORTED` because its sender gave up on it. */
  abandon(message: Message<Config, Memory>): void {
    const queue = this.queue;
    if (queue === undefined) return;
    for (let i = 0; i < queue.length; i++) {
      if (queue.peekAt(i) === message) {
        queue.removeOne(i);
        message.onSenderAbort = undefined;
        message.reject(
          new AbortedError('The sender abandoned the message before the agent took it.', {
            cause: message.senderSignal?.reason,
          }),
        );
        this.checkIdle();
        return;
      }
    }
  }

  /** Rejects every waiting message with `error` (made only when there is one). */
  rejectQueued(error: () => Error): void {
    const queue = this.queue;
    if (queue === undefined || queue.length === 0) return;
    const reason = error();
    this.droppedOnStop = true;
    while (queue.length > 0) {
      const message = queue.shift()!;
      detachAbort(message);
      message.reject(reason);
    }
  }

  /** Messages handed to the pool that have not started yet are treated like waiting ones. */
  rejectUnstarted(error: () => Error): void {
    const inFlight = this.inFlight;
    if (inFlight === undefined || inFlight.size === 0) return;
    let reason: Error | undefined;
    for (const message of inFlight) {
      if (message.started) continue;
      reason ??= error();
      this.droppedOnStop = true;
      message.cancelled = true;
      inFlight.delete(message);
      message.reject(reason);
    }
  }

  /** Rejects the messages being handled (a forced stop); their late results are ignored. */
  rejectInFlight(error: Error): void {
    const inFlight = this.inFlight;
    if (inFlight === undefined) return;
    for (const message of inFlight) message.reject(error);
    inFlight.clear();
    this.checkIdle();
  }

  isIdle(): boolean {
    const inFlight = this.inFlight;
    return (inFlight === undefined || inFlight.size === 0) && (this.queue?.length ?? 0) === 0;
  }

  /** Resolves once nothing waits and nothing is being handled. */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return RESOLVED;
    this.idleWaiter ??= Promise.withResolvers<void>();
    return this.idleWaiter.promise;
  }

  /** Wakes `whenIdle` if the mailbox has become idle. */
  checkIdle(): void {
    if (this.idleWaiter !== undefined && this.isIdle()) {
      this.idleWaiter.resolve();
      this.idleWaiter = undefined;
    }
  }
}

function detachAbort(message: Message<unknown, unknown>): void {
  if (message.onSenderAbort !== undefined) {
    message.senderSignal!.removeEventListener('abort', message.onSenderAbort);
    message.onSenderAbort = undefined;
  }
}
