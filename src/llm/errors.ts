import { AbortedError, AgentfleetError } from '../errors/index.ts';

/** Stable codes of model-call failures. */
export type LlmErrorCode =
  | 'LLM_AUTH'
  | 'LLM_RATE_LIMITED'
  | 'LLM_CONTEXT_LENGTH'
  | 'LLM_BAD_REQUEST'
  | 'LLM_SERVER_ERROR'
  | 'LLM_TIMEOUT'
  | 'LLM_CONNECTION_FAILED'
  | 'LLM_MALFORMED_RESPONSE';

/** A model call failed. `retryable` says whether trying again may help; `retryAfterMs` is the vendor's hint. */
export class LlmError extends AgentfleetError {
  declare readonly code: LlmErrorCode;
  readonly provider: string;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly retryable: boolean;

  constructor(
    code: LlmErrorCode,
    provider: string,
    message: string,
    options: { status?: number; retryAfterMs?: number; cause?: unknown; vendorCode?: string } = {},
  ) {
    super(code, `${provider}: ${message}`, {
      cause: options.cause,
      details: {
        provider,
        ...(options.status === undefined ? {} : { status: options.status }),
        ...(options.retryAfterMs === undefined ? {} : { retryAfterMs: options.retryAfterMs }),
        ...(options.vendorCode === undefined ? {} : { vendorCode: options.vendorCode }),
      },
    });
    this.provider = provider;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.retryable =
      code === 'LLM_RATE_LIMITED' ||
      code === 'LLM_SERVER_ERROR' ||
      code === 'LLM_TIMEOUT' ||
      code === 'LLM_CONNECTION_FAILED';
  }
}

/** What a vendor's error body said, as far as it could be read. */
export interface VendorError {
  message: string;
  /** The vendor's own code or type (`context_length_exceeded`, `rate_limit_error`, `Throttling`). */
  code?: string;
}

const CONTEXT_HINTS =
  /context[_ ]length|maximum context|too many tokens|prompt is too long|input length|context window|reduce the length/i;

/** Maps an HTTP error status (plus what the body said) to a typed error. */
export function errorFromStatus(
  provider: string,
  status: number,
  vendor: VendorError,
  retryAfter: string | undefined,
): LlmError {
  const options = { status, ...(vendor.code === undefined ? {} : { vendorCode: vendor.code }) };
  const text = `HTTP ${status}: ${vendor.message}`;
  if (status === 401 || status === 403) return new LlmError('LLM_AUTH', provider, text, options);
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(retryAfter);
    return new LlmError('LLM_RATE_LIMITED', provider, text, {
      ...options,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  if (CONTEXT_HINTS.test(`${vendor.code ?? ''} ${vendor.message}`) && status < 500) {
    return new LlmError('LLM_CONTEXT_LENGTH', provider, text, options);
  }
  if (status >= 500) return new LlmError('LLM_SERVER_ERROR', provider, text, options);
  return new LlmError('LLM_BAD_REQUEST', provider, text, options);
}

/** `Retry-After` as seconds or an HTTP date → milliseconds; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Maps a transport failure (undici error, abort) to a typed error. */
export function errorFromFailure(
  provider: string,
  error: unknown,
  signal: AbortSignal | undefined,
): AgentfleetError {
  if (AgentfleetError.isInstance(error)) return error;
  if (signal?.aborted) return new AbortedError('The model call was aborted.', { cause: error });
  const code = (error as { code?: string } | undefined)?.code;
  const message = (error as Error | undefined)?.message ?? String(error);
  if (
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  ) {
    return new LlmError('LLM_TIMEOUT', provider, `no answer in time (${message})`, { cause: error });
  }
  return new LlmError('LLM_CONNECTION_FAILED', provider, message, { cause: error });
}

/** A response the adapter could not understand. */
export function malformed(provider: string, why: string, cause?: unknown): LlmError {
  return new LlmError('LLM_MALFORMED_RESPONSE', provider, `malformed response: ${why}`, { cause });
}
