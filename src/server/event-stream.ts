import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientGone } from './client-signal.ts';

/** Options of `EventStream.open`. */
export interface EventStreamOptions {
  /** Ends the stream when aborted (the server shutting down). */
  stopping?: AbortSignal;
  /**
   * Bytes the response may hold unsent for a client that reads slowly, in bytes; past it the
   * client is dropped (its connection destroyed) and the stream ends. Default 1 MiB.
   */
  maxBufferedBytes?: number;
  /**
   * Milliseconds `ready()` waits for a client to take what was written before dropping it.
   * Default 30,000.
   */
  drainTimeoutMs?: number;
}

/** Why a stream ended. */
export type EventStreamEnd = 'client-closed' | 'stopping' | 'slow-client' | 'closed';

/**
 * The one server-sent-events encoder of every streaming route. It refuses to start for a
 * client that already left (while auth or a quota check awaited I/O, say), ends when the
 * client leaves or the server stops, and bounds what a slow reader can make the server hold:
 * `send` drops a client with more than `maxBufferedBytes` unsent, and `ready()` waits for
 * 'drain' for at most `drainTimeoutMs`. `signal` aborts when the stream ends, for whatever
 * reason, so a subscription or model call tied to it ends too.
 */
export class EventStream {
  readonly #res: ServerResponse;
  readonly #controller = new AbortController();
  readonly #ended = Promise.withResolvers<EventStreamEnd>();
  readonly #maxBufferedBytes: number;
  readonly #drainTimeoutMs: number;
  readonly #stopping: AbortSignal | undefined;
  readonly #onClose = () => this.#end('client-closed');
  readonly #onStopping = () => this.#end('stopping');
  #endedWith: EventStreamEnd | undefined = undefined;

  private constructor(res: ServerResponse, options: EventStreamOptions) {
    this.#res = res;
    this.#maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
    this.#drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
    this.#stopping = options.stopping;
  }

  /**
   * Sends the 200 and the event-stream headers, and returns the stream; or returns undefined,
   * sending nothing, when the client already left or the server is stopping. A `HEAD` request
   * gets the headers only (and undefined).
   */
  static open(
    req: IncomingMessage,
    res: ServerResponse,
    options: EventStreamOptions = {},
  ): EventStream | undefined {
    if (clientGone(req, res) || options.stopping?.aborted === true) return undefined;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    });
    if (req.method === 'HEAD') {
      res.end();
      return undefined;
    }
    const stream = new EventStream(res, options);
    res.once('close', stream.#onClose);
    req.once('error', stream.#onClose);
    options.stopping?.addEventListener('abort', stream.#onStopping, { once: true });
    return stream;
  }

  /** Aborted when the stream ends: the client left or was dropped, the server stops, or `close()`. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Resolves with the reason once the stream has ended. */
  get ended(): Promise<EventStreamEnd> {
    return this.#ended.promise;
  }

  /** Whether the stream is still open. */
  get open(): boolean {
    return this.#endedWith === undefined;
  }

  /**
   * Writes one event (`id: <id>` when given, so a reconnecting client sends it back as
   * `Last-Event-ID`; `event: <name>` unless `event` is undefined; then `data: <JSON>`).
   * Returns false once the stream has ended; drops a client whose unsent bytes pass the bound.
   */
  send(event: string | undefined, data: unknown, id?: number): boolean {
    const json = JSON.stringify(data === undefined ? null : data);
    const head = `${id === undefined ? '' : `id: ${id}\n`}${event === undefined ? '' : `event: ${event}\n`}`;
    return this.#write(`${head}data: ${json}\n\n`);
  }

  /** Writes an SSE comment line (`: text`), e.g. to confirm the stream is up. */
  comment(text: string): boolean {
    return this.#write(`: ${text.replace(/[\r\n]+/g, ' ')}\n\n`);
  }

  /** Writes raw SSE text (an OpenAI `data: [DONE]`, say); like `send` otherwise. */
  raw(text: string): boolean {
    return this.#write(text);
  }

  /**
   * Resolves true once the client has taken what was written (at once when nothing waits),
   * false when the stream ended first. A client that does not drain within `drainTimeoutMs`
   * is dropped. Await it between events from a source that can wait (a bus handler).
   */
  ready(): Promise<boolean> {
    if (this.#endedWith !== undefined) return Promise.resolve(false);
    if (!this.#res.writableNeedDrain) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.#res.off('drain', onDrain);
        this.#controller.signal.removeEventListener('abort', onEnd);
        resolve(ok);
      };
      const onDrain = () => done(true);
      const onEnd = () => done(false);
      const timer = setTimeout(() => {
        this.#drop();
        done(false);
      }, this.#drainTimeoutMs);
      this.#res.once('drain', onDrain);
      this.#controller.signal.addEventListener('abort', onEnd, { once: true });
    });
  }

  /** Ends the response (if the client is still there) and the stream. Idempotent. */
  close(): void {
    this.#end('closed');
  }

  #write(text: string): boolean {
    if (this.#endedWith !== undefined) return false;
    this.#res.write(text);
    if (this.#res.writableLength > this.#maxBufferedBytes) {
      this.#drop();
      return false;
    }
    return true;
  }

  /** Drops a slow client: what it did not read is discarded with its connection. */
  #drop(): void {
    if (this.#endedWith !== undefined) return;
    this.#finish('slow-client');
    this.#res.destroy();
  }

  #end(reason: EventStreamEnd): void {
    if (this.#endedWith !== undefined) return;
    this.#finish(reason);
    if (!this.#res.destroyed && !this.#res.writableEnded) this.#res.end();
  }

  #finish(reason: EventStreamEnd): void {
    this.#endedWith = reason;
    this.#res.off('close', this.#onClose); // the req 'error' listener stays: a late error must not go unhandled
    this.#stopping?.removeEventListener('abort', this.#onStopping);
    this.#controller.abort(new Error(`event stream ended: ${reason}`));
    this.#ended.resolve(reason);
  }
}

/** The SSE event name of a streamed part: its `type` (a `progress` part's `name`, when that is a safe name). */
export function partEventName(part: { type: string; name?: unknown }): string {
  const name = part.type === 'progress' ? part.name : part.type;
  return typeof name === 'string' && /^[a-z0-9.-]{1,40}$/.test(name) ? name : 'progress';
}
