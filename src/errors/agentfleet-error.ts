const MARKER = Symbol.for('agentfleet.error');

/** Options shared by every Agentfleet error. */
export interface AgentfleetErrorOptions {
  /** The underlying error, kept for logs and `error.cause`. */
  cause?: unknown;
  /** Machine-readable facts about the failure (ids, limits, states); safe to show to API callers. */
  details?: Record<string, unknown>;
}

/**
 * Base class of every error Agentfleet throws on purpose. `code` is stable across releases
 * and is what callers and the HTTP layer switch on; `message` says what to do about it.
 * A capability's error classes pass its code union as `C` (`extends AgentfleetError<BusErrorCode>`),
 * so a code outside the union fails the typecheck.
 */
export class AgentfleetError<C extends string = string> extends Error {
  readonly code: C;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: C, message: string, options: AgentfleetErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details;
    Object.defineProperty(this, MARKER, { value: true });
  }

  /** True for any Agentfleet error, even one created by another copy of the package. */
  static isInstance(value: unknown): value is AgentfleetError {
    return typeof value === 'object' && value !== null && MARKER in value;
  }

  /** The public shape used in HTTP responses and bus replies. */
  toJSON(): { code: C; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/** Thrown when options passed to a constructor or factory are out of range or of the wrong type. */
export class InvalidOptionsError extends AgentfleetError<'INVALID_OPTIONS'> {
  constructor(message: string, options?: AgentfleetErrorOptions) {
    super('INVALID_OPTIONS', message, options);
  }
}

/** Thrown when a wait was abandoned because its AbortSignal fired. */
export class AbortedError extends AgentfleetError<'ABORTED'> {
  constructor(message = 'The operation was aborted by its AbortSignal.', options?: AgentfleetErrorOptions) {
    super('ABORTED', message, options);
  }
}
