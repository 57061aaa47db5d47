export { defineTool, jsonSchemaOf, type Tool, type ToolContext, type ToolDefinition } from './define.ts';
export type { ToolsErrorCode } from './error-codes.ts';
export { type McpServer, type McpToolSource, type McpToolsOptions, mcpTools } from './mcp.ts';
export {
  type ToolErrorCode,
  type ToolOutcome,
  ToolRunner,
  type ToolRunnerOptions,
  type ToolStats,
} from './runner.ts';
