import { AgentfleetError } from '../errors/index.ts';

/** Codes of `httpTool` failures; the model reads them as `TOOL_FAILED: <code>: <message>`. */
export type HttpToolErrorCode = 'TOOL_HTTP_STATUS' | 'TOOL_HTTP_TOO_LARGE' | 'TOOL_HTTP_FAILED';

/** An HTTP call made by `httpTool` failed: a non-2xx status, a response too large, or no response. */
export class HttpToolError extends AgentfleetError {
  declare readonly code: HttpToolErrorCode;
  constructor(code: HttpToolErrorCode, message: string, details?: Record<string, unknown>, cause?: unknown) {
    super(code, message, { ...(details === undefined ? {} : { details }), cause });
  }
}

/** Codes of `messageAgentTool` refusals. */
export type AgentMessageErrorCode =
  | 'TOOL_AGENT_NOT_ALLOWED'
  | 'TOOL_AGENT_LOOP'
  | 'TOOL_AGENT_UNKNOWN_CALLER';

/** `messageAgentTool` refused to send: the target is not allowed, or the message would loop or go too deep. */
export class AgentMessageError extends AgentfleetError {
  declare readonly code: AgentMessageErrorCode;
  constructor(code: AgentMessageErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details === undefined ? {} : { details });
  }
}
