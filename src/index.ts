/**
 * Agentfleet: a runtime for running very many AI agents at once on Node.js.
 *
 * The root export is what a library user needs: define agents and tools, run them, talk to
 * them over channels and the bus, and catch typed errors. Everything else is a subpath, so
 * importing the root loads no server, exporter or database client (test/root-import.test.ts):
 * `agentfleet/server` (the HTTP server and `serve`), `agentfleet/nats` (the NATS bus transport
 * and the JetStream KV run store), `agentfleet/mqtt` (bus transport), `agentfleet/postgres` (the
 * tenant registry and the run store on PostgreSQL) and
 * `agentfleet/testing` (the contract suites a third-party adapter runs).
 */

// Agents and the runtime that runs them.
export { type ActResult, actAgent } from './agents/index.ts';
// Token and cost budgets checked before each model call (`llm({ budgets })`, `node.budgets`).
export {
  type Budget,
  BudgetExceededError,
  type BudgetGate,
  type BudgetInput,
  type BudgetReservation,
  TokenBudgetGate,
} from './budgets/index.ts';
// The bus: topics, pub/sub, queue groups, request/reply over a pluggable transport.
export {
  Bus,
  BusClosedError,
  type BusOptions,
  createBus,
  type Envelope,
  type HandlerContext,
  type IdempotencyStore,
  MemoryHub,
  type MessageHandler,
  memoryTransport,
  NoRespondersError,
  type PublishOptions,
  ReplyTimeoutError,
  RequestFailedError,
  type RequestOptions,
  type SubscribeOptions,
  Subscription,
  type Transport,
} from './bus/index.ts';
// Channels: Go-style buffered channels and select.
export { Channel, ChannelClosedError, DONE, select, trySelect } from './channel/index.ts';
// The tenant an operation runs for.
export { currentTenantId, requireTenant, type TenantContext, withTenant } from './context/index.ts';
export {
  Agent,
  type AgentContext,
  type AgentDefinition,
  type AgentInfo,
  AgentNotFoundError,
  type AgentSpec,
  type AgentState,
  AgentStepFailedError,
  type Cognition,
  createRuntime,
  defineAgent,
  InvalidInputError,
  MailboxFullError,
  Runtime,
  type RuntimeOptions,
  type SendOptions,
  type StepContext,
} from './core/index.ts';
// CRDTs: counters, registers, sets and maps that merge, replicated over the bus (`node.shared`).
export {
  CrdtError,
  type CrdtErrorCode,
  CrdtMap,
  CrdtReplicator,
  type CrdtReplicatorOptions,
  type CrdtReplicatorStats,
  GCounter,
  type HlcTimestamp,
  HybridClock,
  LWWRegister,
  ORSet,
  PNCounter,
  SharedCrdt,
  type SharedCrdtOptions,
  type SharedKind,
} from './crdt/index.ts';
// Errors: every error Agentfleet throws is an AgentfleetError with a stable `code`.
export { AbortedError, AgentfleetError, InvalidOptionsError } from './errors/index.ts';
// Knowledge: documents, embeddings and retrieval, and the cognition that answers from them.
export {
  HashingEmbedder,
  KnowledgeBase,
  type KnowledgeBaseOptions,
  type KnowledgeDocument,
  knowledgeCognition,
  type Passage,
} from './knowledge/index.ts';
// Models: one provider interface over OpenAI-compatible, Anthropic and DashScope APIs.
export {
  createEmbeddings,
  type Embedder,
  LlmError,
  type Message,
  type Provider,
  type StreamEvent,
} from './llm/index.ts';
// The LLM cognition: a model loop with tools, knowledge and memory.
export {
  type AgentEvent,
  ConversationMemory,
  type LlmCognitionOptions,
  llm,
} from './llm-agent/index.ts';
// Models: providers by `provider/model` name, with resilience and fallback chains.
export {
  createProvider,
  fallbackChain,
  ModelRegistry,
  type ModelRegistryOptions,
  type ModelsReloadSummary,
  type ProviderConfig,
  withResilience,
} from './models/index.ts';
// The node: the composition root (runtime, bus, state, knowledge, tenancy, models, agents folder).
export { type AgentfleetNode, createNode } from './node/index.ts';
// Resilience: rate limits, circuit breakers, retries and fallback chains.
export {
  CircuitBreaker,
  CircuitOpenError,
  createRateLimiter,
  RateLimitedError,
  ResiliencePolicy,
} from './resilience/index.ts';
// Rules: the rule-engine cognition, in code or from JSON.
export { type Decision, type Rule, rules, rulesFromJSON } from './rules/index.ts';
// Per-agent state with context-aware deltas and TTLs.
export { AgentStateStore, createStateStore } from './state/index.ts';
// Tools: zod-typed functions a model can call, and MCP servers as tool sources.
export {
  defineTool,
  mcpTools,
  type Tool,
  type ToolContext,
  type ToolDefinition,
  ToolRunner,
  type ToolRunnerOptions,
} from './tools/index.ts';
