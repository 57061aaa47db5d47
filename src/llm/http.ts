import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { Pool } from 'undici';
import { errorFromFailure, errorFromStatus, type VendorError, vendorErrorOf } from './errors.ts';

/** Connections per vendor origin unless set: enough that 10,000 agents at a vendor's 1–2 s latency are not held back by the pool. */
export const DEFAULT_CONNECTIONS = 1_024;

/** HTTP settings shared by every adapter. */
export interface HttpOptions {
  /**
   * HTTP/1.1 connections kept to the vendor, at most (an HTTP/2 connection carries up to 100
   * calls at once, so over HTTP/2 this is rarely reached). Calls beyond it wait inside the
   * pool. Default 1,024. A deliberate cap on calls belongs in `concurrency`, which is metered.
   */
  connections?: number;
  /** Negotiate HTTP/2 over TLS (ALPN) where the vendor offers it. Default true. */
  http2?: boolean;
  /** Extra trusted CA certificates (PEM) for a vendor or gateway behind a private CA. */
  ca?: string;
  /** Milliseconds to wait for the response headers. Default 60,000. */
  headersTimeoutMs?: number;
  /** Milliseconds a response body may stay silent (a stalled stream). Default 60,000. */
  idleTimeoutMs?: number;
}

/** An open response: status 2xx, body not yet read. */
export interface OpenResponse {
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: AsyncIterable<Uint8Array> & { destroy(error?: Error): unknown; text(): Promise<string> };
}

/** One server-sent event, with the HTTP status DashScope states in a `:HTTP_STATUS/429` comment before it. */
export type VendorEvent = EventSourceMessage & { status?: number };

/** What the connection pool holds right now (undici's `PoolStats`). */
export interface HttpPoolStats {
  /** Open connections. */
  connected: number;
  /** Open connections with no call on them. */
  free: number;
  /** Calls on the wire. */
  running: number;
  /** Calls waiting inside the pool for a connection (beyond `connections`). */
  queued: number;
}

/**
 * A keep-alive connection pool to one vendor origin (undici's `Pool`: measurably cheaper per
 * call than `fetch`, and bounded, so many agents do not open a socket each), speaking HTTP/2
 * where the vendor offers it.
 */
export class VendorHttp {
  readonly #pool: Pool;
  readonly #basePath: string;
  readonly #provider: string;
  readonly #headersTimeout: number;
  readonly #idleTimeout: number;
  readonly #readError: (body: string) => VendorError;

  constructor(
    provider: string,
    baseUrl: string,
    options: HttpOptions,
    readError: (body: string) => VendorError,
  ) {
    const url = new URL(baseUrl);
    this.#provider = provider;
    this.#basePath = url.pathname.replace(/\/$/, '');
    this.#headersTimeout = options.headersTimeoutMs ?? 60_000;
    this.#idleTimeout = options.idleTimeoutMs ?? 60_000;
    this.#readError = readError;
    this.#pool = new Pool(url.origin, {
      connections: options.connections ?? DEFAULT_CONNECTIONS,
      pipelining: 1,
      allowH2: options.http2 ?? true,
      ...(options.ca === undefined ? {} : { connect: { ca: options.ca } }),
    });
  }

  /** What the pool holds right now. */
  stats(): HttpPoolStats {
    const s = this.#pool.stats;
    return { connected: s.connected, free: s.free, running: s.running, queued: s.queued };
  }

  /** POSTs JSON; resolves with a 2xx response, or throws the typed error the status or failure means. */
  async post(
    path: string,
    body: unknown,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<OpenResponse> {
    let response: Awaited<ReturnType<Pool['request']>>;
    try {
      response = await this.#pool.request({
        method: 'POST',
        path: this.#basePath + path,
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
        signal: signal ?? null,
        headersTimeout: this.#headersTimeout,
        bodyTimeout: this.#idleTimeout,
      });
    } catch (error) {
      throw errorFromFailure(this.#provider, error, signal);
    }
    if (response.statusCode >= 200 && response.statusCode < 300) return response;
    let text = '';
    try {
      text = await response.body.text();
    } catch {
      // the status alone decides
    }
    const retryAfter = header(response.headers['retry-after']);
    const retryAfterMs = header(response.headers['retry-after-ms']);
    throw errorFromStatus(
      this.#provider,
      response.statusCode,
      this.#readError(text),
      retryAfterMs !== undefined ? String(Number(retryAfterMs) / 1000) : retryAfter,
    );
  }

  /** Reads a whole body, mapping a failure midway to a typed error. */
  async text(response: OpenResponse, signal: AbortSignal | undefined): Promise<string> {
    try {
      return await response.body.text();
    } catch (error) {
      throw errorFromFailure(this.#provider, error, signal);
    }
  }

  /** Server-sent events of a streamed body; failures midway surface as typed errors. */
  async *events(response: OpenResponse, signal: AbortSignal | undefined): AsyncGenerator<VendorEvent> {
    const ready: VendorEvent[] = [];
    let status: number | undefined;
    const parser = createParser({
      onEvent: (event) => {
        ready.push(status === undefined ? event : { ...event, status });
        status = undefined;
      },
      onComment: (comment) => {
        const m = /^\s*HTTP_STATUS\/(\d{3})/.exec(comment);
        if (m !== null) status = Number(m[1]);
      },
    });
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body) {
        parser.feed(decoder.decode(chunk, { stream: true }));
        while (ready.length > 0) yield ready.shift() as VendorEvent;
      }
      parser.feed(`${decoder.decode()}\n\n`);
      while (ready.length > 0) yield ready.shift() as VendorEvent;
    } catch (error) {
      throw errorFromFailure(this.#provider, error, signal);
    } finally {
      response.body.destroy();
    }
  }

  /** Drops every connection now; requests in flight and queued fail with `error`. */
  destroy(error: Error): Promise<void> {
    return this.#pool.destroy(error);
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

export function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Reads `{"error":{"message","type","code"}}`-like bodies; falls back to the raw text. */
export function readJsonError(body: string): VendorError {
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    return vendorErrorOf(typeof parsed.error === 'object' && parsed.error !== null ? parsed.error : parsed);
  } catch {
    return { message: body.slice(0, 500) || 'no body' };
  }
}
