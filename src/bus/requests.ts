import { AbortedError } from '../errors/index.ts';
import type { Envelope } from './envelope.ts';
import { ReplyTimeoutError, RequestFailedError } from './errors.ts';

/** Header set on a reply that carries an error (`{ code, message }`) instead of a result. */
export const ERROR_HEADER = 'agentfleet-error';

/** One request waiting for its reply. */
class PendingRequest {
  readonly promise: Promise<Envelope>;
  resolve!: (reply: Envelope) => void;
  reject!: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;

  constructor() {
    this.promise = new Promise<Envelope>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

/**
 * Matches replies to requests. Each bus has one inbox (`_INBOX.<node>.*`) subscribed on its
 * transport; a request publishes with `replyTo` set to a fresh inbox topic and waits here.
 */
export class PendingRequests {
  readonly inboxPrefix: string;
  readonly #pending = new Map<string, PendingRequest>();
  #next = 0;

  constructor(node: string) {
    this.inboxPrefix = `_INBOX.${node}.`;
  }

  get size(): number {
    return this.#pending.size;
  }

  /** Registers a request; returns its reply topic and the promise of the reply. */
  open(
    topic: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): { replyTo: string; reply: Promise<Envelope> } {
    const key = (++this.#next).toString(36);
    const pending = new PendingRequest();
    this.#pending.set(key, pending);
    pending.timer = setTimeout(() => this.#settle(key, new ReplyTimeoutError(topic, timeoutMs)), timeoutMs);
    if (signal?.aborted) {
      this.#settle(key, new AbortedError('The request was aborted by its AbortSignal.'));
    } else if (signal !== undefined) {
      pending.signal = signal;
      pending.onAbort = () =>
        this.#settle(key, new AbortedError('The request was aborted by its AbortSignal.'));
      signal.addEventListener('abort', pending.onAbort, { once: true });
    }
    return { replyTo: this.inboxPrefix + key, reply: pending.promise };
  }

  /** Fails a request whose publish failed. */
  fail(replyTo: string, error: Error): void {
    this.#settle(replyTo.slice(this.inboxPrefix.length), error);
  }

  /** A reply arrived on the inbox. Unknown or late replies are ignored. */
  deliver(reply: Envelope): void {
    const key = reply.topic.slice(this.inboxPrefix.length);
    if (reply.headers[ERROR_HEADER] === undefined) {
      this.#settle(key, reply);
      return;
    }
    const remote = reply.payload as { code?: unknown; message?: unknown } | null;
    this.#settle(
      key,
      new RequestFailedError(reply.headers[ERROR_HEADER] ?? reply.topic, {
        code: typeof remote?.code === 'string' ? remote.code : 'UNKNOWN',
        message: typeof remote?.message === 'string' ? remote.message : 'no message',
      }),
    );
  }

  /** Rejects every waiting request (the bus is closing). */
  rejectAll(error: Error): void {
    for (const key of [...this.#pending.keys()]) this.#settle(key, error);
  }

  #settle(key: string, outcome: Envelope | Error): void {
    const pending = this.#pending.get(key);
    if (pending === undefined) return;
    this.#pending.delete(key);
    clearTimeout(pending.timer);
    if (pending.onAbort !== undefined) pending.signal?.removeEventListener('abort', pending.onAbort);
    if (outcome instanceof Error) pending.reject(outcome);
    else pending.resolve(outcome);
  }
}
