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
  | 'LLM_MALFORMED_RESPONSE'
  | 'LLM_QUEUE_FULL';

/** Stable codes of provider set-up failures (`createVendorProvider`). */
export type ProviderConfigErrorCode = 'PROVIDER_CONFIG_INVALID' | 'UNKNOWN_PROVIDER';

/** A model call failed. `retryable` says whether trying again may help; `retryAfterMs` is the vendor's hint. */
export class LlmError extends AgentfleetError<LlmErrorCode> {
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
      code === 'LLM_CONNECTION_FAILED' ||
      code === 'LLM_QUEUE_FULL';
  }
}

/** What a vendor's error body said, as far as it could be read. */
export interface VendorError {
  message: string;
  /** The vendor's own code or type (`context_length_exceeded`, `rate_limit_error`, `Throttling`). */
  code?: string;
  /** The error's type when the vendor sends one beside a code (OpenAI: `invalid_request_error`). */
  type?: string;
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

/**
 * Vendor error codes (or types) by meaning, first match wins, in the spellings of DashScope
 * (`Throttling.RateQuota`, `InternalError`, `DataInspectionFailed`, `InvalidParameter`,
 * `Arrearage`), OpenAI (`rate_limit_exceeded`, `server_error`, `context_length_exceeded`,
 * `invalid_request_error`) and Anthropic (`overloaded_error`, `api_error`, `rate_limit_error`).
 */
const VENDOR_CODES: ReadonlyArray<readonly [RegExp, LlmErrorCode]> = [
  [/context_length|context_window/i, 'LLM_CONTEXT_LENGTH'],
  [/^throttling|rate_?limit|^requests$|^tokens$|too_many_requests|insufficient_quota/i, 'LLM_RATE_LIMITED'],
  [
    /^internalerror|^systemerror|^serviceunavailable|server_error|internal_error|api_error|overloaded|service_unavailable/i,
    'LLM_SERVER_ERROR',
  ],
  [/^requesttimeout|timeout/i, 'LLM_TIMEOUT'],
  [
    /invalidapikey|invalid_api_key|authentication|permission|accessdenied|unauthori[sz]ed|arrearage|billing/i,
    'LLM_AUTH',
  ],
  [
    /datainspection|data_inspection|invalidparameter|invalid_parameter|invalid_request|badrequest|not_found|too_large|unsupported|content_filter/i,
    'LLM_BAD_REQUEST',
  ],
];

/**
 * Maps an error the vendor reported in a body — inside a stream (DashScope `event:error`, an
 * OpenAI `{"error":…}` chunk, Anthropic `event: error`) or as a 200 answer — to a typed error
 * that keeps the vendor's message and code. The vendor's code decides; without a known code
 * the HTTP status does (DashScope's `:HTTP_STATUS/429` comment, when there is one); with
 * neither, it is `LLM_SERVER_ERROR` (the vendor failed midway: retrying may help).
 */
export function errorFromVendor(
  provider: string,
  vendor: VendorError,
  status: number | undefined,
  where: string,
): LlmError {
  const vendorCode = vendor.code;
  const options = {
    ...(status === undefined ? {} : { status }),
    ...(vendorCode === undefined ? {} : { vendorCode }),
  };
  const text = `${where}: ${vendorCode === undefined ? '' : `${vendorCode}: `}${vendor.message}`;
  const byName = (name: string | undefined) =>
    name === undefined ? undefined : VENDOR_CODES.find(([pattern]) => pattern.test(name))?.[1];
  let code: LlmErrorCode =
    byName(vendorCode) ??
    byName(vendor.type) ??
    (status !== undefined && status >= 400
      ? errorFromStatus(provider, status, vendor, undefined).code
      : 'LLM_SERVER_ERROR');
  if (code === 'LLM_BAD_REQUEST' && CONTEXT_HINTS.test(vendor.message)) code = 'LLM_CONTEXT_LENGTH';
  return new LlmError(code, provider, text, options);
}

/** Reads a vendor's error object (`{message, code, type}`); the message falls back to the JSON. */
export function vendorErrorOf(value: unknown): VendorError {
  if (typeof value !== 'object' || value === null) return { message: String(value ?? 'unknown error') };
  const o = value as Record<string, unknown>;
  const message = typeof o.message === 'string' ? o.message : JSON.stringify(o).slice(0, 500);
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const code = str(o.code) ?? str(o.type);
  const type = str(o.type);
  return {
    message,
    ...(code === undefined ? {} : { code }),
    ...(type === undefined || type === code ? {} : { type }),
  };
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
