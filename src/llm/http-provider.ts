import type { EventSourceMessage } from 'eventsource-parser';
import { AbortedError, InvalidOptionsError } from '../errors/index.ts';
import { CallGate, type ConcurrencyOptions, emptyQueueStats } from './call-gate.ts';
import { errorFromFailure, malformed, type VendorError } from './errors.ts';
import { type HttpOptions, header, type OpenResponse, type VendorEvent, VendorHttp } from './http.ts';
import { watchModelCall } from './model-call-telemetry.ts';
import { StreamState } from './stream-state.ts';
import type {
  CallOptions,
  GenerateRequest,
  GenerateResult,
  Provider,
  ProviderStats,
  StreamEvent,
} from './types.ts';

/** How one vendor's HTTP API spells a call; the transport and stream plumbing are shared. */
export interface WireFormat {
  path(request: GenerateRequest, stream: boolean): string;
  headers(stream: boolean): Record<string, string>;
  body(request: GenerateRequest, stream: boolean): unknown;
  /**
   * Reads a whole (non-streamed) answer; throws the typed error a vendor's error body (even
   * with status 200) means, or `malformed(...)` when it cannot read it.
   */
  result(json: unknown, request: GenerateRequest): GenerateResult;
  /** Handles one server-sent event; returns true once the answer is complete; throws the typed error an error event means. */
  event(event: VendorEvent, state: StreamState, out: StreamEvent[]): boolean;
  readError(body: string): VendorError;
}

/**
 * A provider over HTTP: the vendor's `WireFormat` plus a pooled keep-alive client (HTTP/2
 * where offered), and, when `concurrency` sets a cap, a metered queue in front of it.
 */
export class HttpProvider implements Provider {
  readonly name: string;
  readonly #format: WireFormat;
  readonly #http: VendorHttp;
  readonly #headers: Record<string, string>;
  readonly #gate: CallGate | undefined;

  constructor(
    name: string,
    baseUrl: string,
    format: WireFormat,
    headers: Record<string, string>,
    http: HttpOptions,
    concurrency?: ConcurrencyOptions,
  ) {
    this.name = name;
    this.#format = format;
    this.#headers = headers;
    this.#http = new VendorHttp(name, baseUrl, http, (body) => format.readError(body));
    this.#gate = CallGate.wanted(concurrency) ? new CallGate(name, concurrency ?? {}) : undefined;
  }

  /** The queue (all zero without a cap) and the connection pool, right now. */
  stats(): ProviderStats {
    return {
      queue: this.#gate?.stats() ?? emptyQueueStats(),
      http: this.#http.stats(),
    };
  }

  async generate(request: GenerateRequest, options: CallOptions = {}): Promise<GenerateResult> {
    checkRequest(request);
    const watch = watchModelCall(this.name, request, 'generate');
    if (watch === undefined) return this.#generate(request, options);
    try {
      const result = await this.#generate(request, options);
      watch.succeeded(result);
      return result;
    } catch (error) {
      watch.failed(error);
      throw error;
    }
  }

  async #generate(request: GenerateRequest, options: CallOptions): Promise<GenerateResult> {
    const signal = options.signal;
    if (signal?.aborted) throw new AbortedError('The model call was aborted.');
    const release = this.#gate === undefined ? undefined : await this.#gate.acquire(signal);
    try {
      const response = await this.#http.post(
        this.#format.path(request, false),
        this.#format.body(request, false),
        this.#callHeaders(request, false),
        signal,
      );
      return await this.#readResult(response, request, signal);
    } finally {
      release?.();
    }
  }

  async #readResult(
    response: OpenResponse,
    request: GenerateRequest,
    signal: AbortSignal | undefined,
  ): Promise<GenerateResult> {
    const text = await this.#http.text(response, signal);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw malformed(this.name, `the body is not JSON (${text.slice(0, 80)})`, error);
    }
    return this.#format.result(json, request);
  }

  async *stream(request: GenerateRequest, options: CallOptions = {}): AsyncGenerator<StreamEvent> {
    const watch =
      typeof request?.model === 'string' ? watchModelCall(this.name, request, 'stream') : undefined;
    if (watch === undefined) {
      yield* this.#stream(request, options);
      return;
    }
    let ended = false;
    try {
      for await (const event of this.#stream(request, options)) {
        if (event.type === 'finish') {
          ended = true;
          watch.succeeded({ ...event, finishReason: event.reason });
        } else if (event.type === 'error') {
          ended = true;
          watch.failed(event.error);
        }
        yield event;
      }
    } finally {
      if (!ended) watch.failed(new AbortedError('The stream was abandoned before it finished.'));
    }
  }

  async *#stream(request: GenerateRequest, options: CallOptions): AsyncGenerator<StreamEvent> {
    const signal = options.signal;
    const state = new StreamState(request);
    const out: StreamEvent[] = [];
    let release: (() => void) | undefined;
    try {
      checkRequest(request);
      if (signal?.aborted) throw new AbortedError('The model call was aborted.');
      if (this.#gate !== undefined) release = await this.#gate.acquire(signal);
      const response = await this.#http.post(
        this.#format.path(request, true),
        this.#format.body(request, true),
        this.#callHeaders(request, true),
        signal,
      );
      if (JSON_TYPE.test(header(response.headers['content-type']) ?? '')) {
        // A JSON body where a stream was asked for: an error (kept with the vendor's message),
        // or a whole answer from a vendor that does not stream, replayed as a stream.
        yield* resultEvents(await this.#readResult(response, request, signal));
        return;
      }
      let complete = false;
      for await (const event of this.#http.events(response, signal)) {
        if (complete) continue; // read to the end so the connection can be reused
        complete = this.#format.event(event, state, out);
        while (out.length > 0) yield out.shift() as StreamEvent;
      }
      // A finish reason is the answer's end; a missing `[DONE]` / `message_stop` after it is not an error.
      if (!complete && state.finishReason === undefined) {
        throw malformed(this.name, 'the stream ended before the answer was complete');
      }
      state.finish(out);
      while (out.length > 0) yield out.shift() as StreamEvent;
    } catch (error) {
      yield { type: 'error', error: errorFromFailure(this.name, error, signal) };
    } finally {
      release?.();
    }
  }

  close(): Promise<void> {
    this.#gate?.close();
    return this.#http.close();
  }

  destroy(error: Error): Promise<void> {
    this.#gate?.close();
    return this.#http.destroy(error);
  }

  #callHeaders(request: GenerateRequest, stream: boolean): Record<string, string> {
    return { ...this.#headers, ...this.#format.headers(stream), ...request.headers };
  }
}

/** `application/json` and `application/problem+json`, not `application/x-ndjson`. */
const JSON_TYPE = /^\s*application\/(?:[\w.-]*\+)?json\s*(?:;|$)/i;

/** A whole answer as the events a stream of it would have had. */
function* resultEvents(result: GenerateResult): Generator<StreamEvent> {
  if (result.text !== '') yield { type: 'text-delta', text: result.text };
  for (const [index, call] of result.toolCalls.entries()) {
    yield { type: 'tool-call-start', index, id: call.id, name: call.name };
    if (call.arguments !== '') yield { type: 'tool-call-delta', index, argumentsDelta: call.arguments };
    yield { type: 'tool-call-end', index, call };
  }
  yield { type: 'usage', usage: result.usage };
  yield {
    type: 'finish',
    reason: result.finishReason,
    usage: result.usage,
    text: result.text,
    toolCalls: result.toolCalls,
    ...(result.modelVersion === undefined ? {} : { modelVersion: result.modelVersion }),
  };
}

function checkRequest(request: GenerateRequest): void {
  if (typeof request?.model !== 'string' || request.model === '') {
    throw new InvalidOptionsError('A model request needs a model name.');
  }
  if (!Array.isArray(request.messages) || request.messages.length === 0) {
    throw new InvalidOptionsError('A model request needs at least one message.');
  }
}

/** Parses one event's JSON data, or throws a malformed-response error naming the provider. */
export function eventJson(provider: string, event: EventSourceMessage): Record<string, unknown> {
  try {
    const value = JSON.parse(event.data) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return value as Record<string, unknown>;
  } catch (error) {
    throw malformed(provider, `a stream chunk is not JSON (${event.data.slice(0, 80)})`, error);
  }
  throw malformed(provider, `a stream chunk is not a JSON object (${event.data.slice(0, 80)})`);
}
