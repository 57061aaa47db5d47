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
export {
  AgentsFolder,
  type AgentsFolderChange,
  type AgentsFolderOptions,
  type AgentsFolderTarget,
} from './agents-folder.ts';
export { type CompileAgentSpecDeps, type CompiledAgentSpec, compileAgentSpec } from './compile-agent-spec.ts';
export {
  type DefinitionChange,
  DefinitionRecordInvalidError,
  type DefinitionStore,
  DefinitionStoreUnavailableError,
  type DefinitionWatch,
  type DefinitionWatchHandlers,
  definitionKey,
} from './definition-store.ts';
export type { SpecErrorCode } from './error-codes.ts';
export { formatProblem, ModelNotConfiguredError, SpecInvalidError, type SpecProblem } from './errors.ts';
export { AGENT_SPEC_SCHEMA_PATH, agentSpecJsonSchema, agentSpecJsonSchemaText } from './json-schema.ts';
export {
  type AgentsFolderReport,
  formatAgentsFolderReport,
  type LoadAgentSpecsOptions,
  type LoadedAgentSpec,
  loadAgentSpecs,
  resolveSpecFiles,
  validateAgentsFolder,
} from './load-agent-specs.ts';
export { MemoryDefinitionStore } from './memory-definition-store.ts';
export { bindModel, settingFor } from './model-binding.ts';
export { type ParseAgentSpecOptions, parseAgentSpec } from './parse-agent-spec.ts';
export { buildSpecTools, type SpecToolDeps, type SpecTools } from './spec-tools.ts';
export {
  DefinitionLimitError,
  SpecTooLargeError,
  TenantDefinitions,
  type TenantDefinitionsOptions,
  type TenantDefinitionTarget,
} from './tenant-definitions.ts';
export {
  type SpecVersionInfo,
  type SpecVersionStatus,
  specVersionId,
  stickyBucket,
  VersionedDefinition,
  type VersionedDefinitionOptions,
  VersionNotFoundError,
  type VersionSplit,
} from './versioned-definition.ts';
