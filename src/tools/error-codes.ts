/** Stable codes of the errors tools and MCP throws (each has an HTTP status in the server's table). */
export type ToolsErrorCode = 'MCP_FAILED';
