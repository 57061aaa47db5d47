import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { Pool } from 'undici';
import { errorFromFailure, errorFromStatus, type VendorError } from './errors.ts';

/** HTTP settings shared by every adapter. */
export interface HttpOptions {
  /** Connections kept to the vendor, at most (10,000 agents share them). Default 64. */
  connections?: number;
  /** Milliseconds to wait for the response headers. Default 60,000. */
  headersTimeoutMs?: number;
  /** Milliseconds a response body may stay silent (a stalled stream). Default 60,000. */
  idleTimeoutMs?: number;
}

/** An open response: status 2xx, body not yet read. */
export interface OpenResponse {
  readonly body: AsyncIterable<Uint8Array> & { destroy(error?: Error): unknown; text(): Promise<string> };
}

/**
 * A keep-alive connection pool to one vendor origin (undici's `Pool`: measurably cheaper per
 * call than `fetch`, and bounded, so many agents do not open a socket each).
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
    this.#pool = new Pool(url.origin, { connections: options.connections ?? 64, pipelining: 1 });
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
  async *events(response: OpenResponse, signal: AbortSignal | undefined): AsyncGenerator<EventSourceMessage> {
    const ready: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (event) => void ready.push(event) });
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body) {
        parser.feed(decoder.decode(chunk, { stream: true }));
        while (ready.length > 0) yield ready.shift() as EventSourceMessage;
      }
      parser.feed(`${decoder.decode()}\n\n`);
      while (ready.length > 0) yield ready.shift() as EventSourceMessage;
    } catch (error) {
      throw errorFromFailure(this.#provider, error, signal);
    } finally {
      response.body.destroy();
    }
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Reads `{"error":{"message","type","code"}}`-like bodies; falls back to the raw text. */
export function readJsonError(body: string): VendorError {
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    const inner = (
      typeof parsed.error === 'object' && parsed.error !== null ? parsed.error : parsed
    ) as Record<string, unknown>;
    const message = typeof inner.message === 'string' ? inner.message : body.slice(0, 500);
    const code = [inner.code, inner.type].find((v) => typeof v === 'string') as string | undefined;
    return code === undefined ? { message } : { message, code };
  } catch {
    return { message: body.slice(0, 500) || 'no body' };
  }
}
