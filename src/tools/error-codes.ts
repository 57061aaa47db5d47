import type { AgentMessageErrorCode, HttpToolErrorCode } from './errors.ts';

/** Stable codes of the errors tools and MCP throw (each has an HTTP status in the server's table). */
export type ToolsErrorCode = 'MCP_FAILED' | HttpToolErrorCode | AgentMessageErrorCode;
