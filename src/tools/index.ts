export {
  checkToolApproval,
  checkToolName,
  checkToolTimeout,
  defineTool,
  jsonSchemaOf,
  type Tool,
  type ToolApproval,
  type ToolContext,
  type ToolDefinition,
} from './define.ts';
export type { ToolsErrorCode } from './error-codes.ts';
export {
  AgentMessageError,
  type AgentMessageErrorCode,
  HttpToolError,
  type HttpToolErrorCode,
} from './errors.ts';
export { type HttpToolOptions, type HttpToolResult, httpTool } from './http-tool.ts';
export {
  type JsonObject,
  type JsonSchema,
  type JsonSchemaTool,
  type JsonSchemaToolDefinition,
  jsonSchemaTool,
} from './json-schema-tool.ts';
export {
  type KnowledgeSearchResult,
  type KnowledgeSearchToolOptions,
  knowledgeSearchTool,
  type SearchableKnowledge,
  type SearchPassage,
} from './knowledge-search-tool.ts';
export { type McpServer, type McpToolSource, type McpToolsOptions, mcpTools } from './mcp.ts';
export { type AgentMessenger, type MessageAgentToolOptions, messageAgentTool } from './message-agent-tool.ts';
export {
  type ToolErrorCode,
  type ToolOutcome,
  ToolRunner,
  type ToolRunnerOptions,
  type ToolStats,
} from './runner.ts';
