import { AgentfleetError } from '../errors/index.ts';

/** A rate limit refused the call; `retryAfterMs` says when the window has room. */
export class RateLimitedError extends AgentfleetError<ResilienceErrorCode> {
  readonly retryAfterMs: number;
  constructor(key: string, limit: number, retryAfterMs: number) {
    super('RATE_LIMITED', `Rate limit of ${limit} for "${key}" reached; retry in ${retryAfterMs} ms.`, {
      details: { key, limit, retryAfterMs, retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) },
    });
    this.retryAfterMs = retryAfterMs;
  }
}

/** The circuit is open: the call was refused without being made. */
export class CircuitOpenError extends AgentfleetError<ResilienceErrorCode> {
  readonly retryAfterMs: number;
  constructor(name: string, retryAfterMs: number) {
    super(
      'CIRCUIT_OPEN',
      `Circuit "${name}" is open after too many failures; it tries again in ${retryAfterMs} ms.`,
      {
        details: {
          circuit: name,
          retryAfterMs,
          retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)),
        },
      },
    );
    this.retryAfterMs = retryAfterMs;
  }
}

/** The call took longer than its timeout and was abandoned (its signal aborted). */
export class CallTimeoutError extends AgentfleetError<ResilienceErrorCode> {
  constructor(timeoutMs: number) {
    super('CALL_TIMEOUT', `The call did not finish within ${timeoutMs} ms.`, { details: { timeoutMs } });
  }
}

/** The resilience configuration is invalid; the message names each bad value. */
export class ResilienceConfigError extends AgentfleetError<ResilienceErrorCode> {
  constructor(problems: string[]) {
    super('RESILIENCE_CONFIG_INVALID', `Invalid resilience configuration: ${problems.join('; ')}`, {
      details: { problems },
    });
  }
}

/** Why a shared limit could not be checked. */
export type LimiterUnavailableReason = 'not-connected' | 'timeout' | 'failed';

/**
 * A limit kept on Redis could not be checked: the client is not connected (answered at once,
 * nothing is queued), or the command timed out or failed. HTTP 503 with `Retry-After`; the
 * client reconnects by itself and the limit works again once it has.
 */
export class RateLimiterUnavailableError extends AgentfleetError<ResilienceErrorCode> {
  readonly reason: LimiterUnavailableReason;
  constructor(reason: LimiterUnavailableReason, cause?: unknown) {
    const why =
      reason === 'not-connected'
        ? 'Redis is not connected'
        : reason === 'timeout'
          ? 'Redis did not answer in time'
          : 'the Redis command failed';
    super('RATE_LIMITER_UNAVAILABLE', `The shared rate limit cannot be checked: ${why}; retry shortly.`, {
      details: { reason, retryAfterSeconds: 1 },
      cause,
    });
    this.reason = reason;
  }
}

/** Stable codes of the errors resilience policies throws (each has an HTTP status in the server's table). */
export type ResilienceErrorCode =
  | 'CALL_TIMEOUT'
  | 'CIRCUIT_OPEN'
  | 'RATE_LIMITED'
  | 'RATE_LIMITER_UNAVAILABLE'
  | 'RESILIENCE_CONFIG_INVALID';
