export {
  type AgentSpecDocument,
  type AgentSpecInput,
  agentSpecSchema,
  type CognitionSpec,
  cognitionSpecSchema,
  modelRefSchema,
  type ToolSpec,
  toolSpecSchema,
} from './agent-spec-schema.ts';
export { formatProblem, ModelNotConfiguredError, SpecInvalidError, type SpecProblem } from './errors.ts';
export {
  type AgentsFolderReport,
  formatAgentsFolderReport,
  type LoadAgentSpecsOptions,
  type LoadedAgentSpec,
  loadAgentSpecs,
  resolveSpecFiles,
  validateAgentsFolder,
} from './load-agent-specs.ts';
export { type ParseAgentSpecOptions, parseAgentSpec } from './parse-agent-spec.ts';
