import { AgentfleetError } from '../errors/index.ts';
import type { AgentState } from './lifecycle.ts';

/** No agent with this id exists in the runtime. */
export class AgentNotFoundError extends AgentfleetError<CoreErrorCode> {
  constructor(agentId: string) {
    super('AGENT_NOT_FOUND', `No agent with id "${agentId}". List agents to see the ids that exist.`, {
      details: { agentId },
    });
  }
}

/** The agent exists but is not running, so it cannot take messages. */
export class AgentNotRunningError extends AgentfleetError<CoreErrorCode> {
  constructor(agentId: string, state: AgentState) {
    super(
      'AGENT_NOT_RUNNING',
      `Agent "${agentId}" is ${state} and cannot take messages; start it first (pending agents) or create a new one.`,
      { details: { agentId, state } },
    );
  }
}

/** An agent with the requested id already exists. */
export class AgentExistsError extends AgentfleetError<CoreErrorCode> {
  constructor(agentId: string) {
    super('AGENT_EXISTS', `An agent with id "${agentId}" already exists; pick another id or omit it.`, {
      details: { agentId },
    });
  }
}

/** No agent definition is registered under this name. */
export class DefinitionNotFoundError extends AgentfleetError<CoreErrorCode> {
  constructor(name: string, known: readonly string[]) {
    super(
      'DEFINITION_NOT_FOUND',
      `No agent definition named "${name}" is registered. Known: ${known.length > 0 ? known.join(', ') : '(none)'}.`,
      { details: { definition: name, known } },
    );
  }
}

/** A different agent definition is already registered under this name. */
export class DefinitionExistsError extends AgentfleetError<CoreErrorCode> {
  constructor(name: string) {
    super('DEFINITION_EXISTS', `Another agent definition is already registered as "${name}".`, {
      details: { definition: name },
    });
  }
}

/** The agent's mailbox is full; the message was not accepted. */
export class MailboxFullError extends AgentfleetError<CoreErrorCode> {
  constructor(agentId: string, capacity: number) {
    super(
      'MAILBOX_FULL',
      `Agent "${agentId}" has ${capacity} messages waiting; retry later or raise its mailbox capacity.`,
      { details: { agentId, capacity } },
    );
  }
}

/** A message or config did not match the agent definition's schema. */
export class InvalidInputError extends AgentfleetError<CoreErrorCode> {
  constructor(what: string, agentOrDefinition: string, problems: string[]) {
    super('INVALID_INPUT', `Invalid ${what} for "${agentOrDefinition}": ${problems.join('; ')}`, {
      details: { problems },
    });
  }
}

/** The agent's `onStart` hook threw; the agent is now failed. */
export class AgentStartFailedError extends AgentfleetError<CoreErrorCode> {
  constructor(agentId: string, cause: unknown) {
    super('AGENT_START_FAILED', `Agent "${agentId}" failed to start: ${describe(cause)}`, {
      cause,
      details: { agentId },
    });
  }
}

/** Perception, cognition or action threw while handling a message. */
export class AgentStepFailedError extends AgentfleetError<CoreErrorCode> {
  constructor(agentId: string, cause: unknown) {
    // A typed cause (MODEL_NOT_CONFIGURED, a tool's error…) travels in the details, so API callers see its code.
    const typed = AgentfleetError.isInstance(cause)
      ? { cause: { code: cause.code, message: cause.message } }
      : {};
    super('AGENT_STEP_FAILED', `Agent "${agentId}" failed to handle a message: ${describe(cause)}`, {
      cause,
      details: { agentId, ...typed },
    });
  }
}

/** The agent stopped or failed before it could handle this message. */
export class AgentStoppedError extends AgentfleetError<CoreErrorCode> {
  constructor(agentId: string, state: AgentState, forced = false) {
    super(
      'AGENT_STOPPED',
      forced
        ? `Agent "${agentId}" was forced to stop at its deadline before this message finished.`
        : `Agent "${agentId}" is ${state}; the message was not handled.`,
      { details: { agentId, state, forced } },
    );
  }
}

/** The runtime has been closed and accepts no more work. */
export class RuntimeClosedError extends AgentfleetError<CoreErrorCode> {
  constructor() {
    super('RUNTIME_CLOSED', 'The runtime is closed; create a new runtime to run agents.');
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Stable codes of the errors the runtime and its agents throws (each has an HTTP status in the server's table). */
export type CoreErrorCode =
  | 'AGENT_EXISTS'
  | 'AGENT_NOT_FOUND'
  | 'AGENT_NOT_RUNNING'
  | 'AGENT_START_FAILED'
  | 'AGENT_STEP_FAILED'
  | 'AGENT_STOPPED'
  | 'DEFINITION_EXISTS'
  | 'DEFINITION_NOT_FOUND'
  | 'ILLEGAL_TRANSITION'
  | 'INVALID_INPUT'
  | 'MAILBOX_FULL'
  | 'RUNTIME_CLOSED';
