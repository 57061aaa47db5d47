import { z } from 'zod';
import { budgetSchema } from '../budgets/index.ts';
import { resiliencePolicySchema } from '../resilience/index.ts';
import { conditionSchema, ruleSetJsonSchema } from '../rules/index.ts';
import { stateSyncConfigSchema } from '../state/index.ts';

/** Names of definitions, tools and agents: safe in URLs, bus subjects and metric labels. */
const name = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
    'must be 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit',
  );

/** `provider/model`: everything after the first `/` is the vendor's own model name. */
export const modelRefSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*\/\S+$/, 'must be provider/model, e.g. openai/gpt-4o-mini');

/** A JSON Schema document (an object); checked further by the spec parser with Ajv. */
export const jsonSchemaObject = z
  .record(z.string(), z.unknown())
  .describe('A JSON Schema (draft 2020-12) as an object');

const toolName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, "_" or "-"');
const headers = z.record(z.string(), z.string());

/** `llm`: a tool-calling loop over one model. */
const llmCognition = z
  .strictObject({
    type: z.literal('llm'),
    /** `provider/model`, e.g. `openai/gpt-4o-mini`, `ollama/llama3.2`. */
    model: modelRefSchema,
    /** The system prompt, inline. */
    system: z.string().max(200_000).optional(),
    /** The system prompt from a file, relative to the spec file. */
    systemFile: z.string().min(1).optional(),
    /** Sampling temperature, 0–2. Default: the vendor's. */
    temperature: z.number().min(0).max(2).optional(),
    /** Model calls per message, at most. Default 8. */
    maxSteps: z.number().int().min(1).max(100).optional(),
    /** Output tokens per model call, at most. Default: the vendor's. */
    maxTokens: z.number().int().min(1).max(1_000_000).optional(),
    /** The final answer must follow this JSON Schema (sent to the model as structured output). */
    output: jsonSchemaObject.optional(),
  })
  .refine((c) => c.system === undefined || c.systemFile === undefined, {
    message: 'give system or systemFile, not both',
    path: ['systemFile'],
  });

/** `rules`: today's JSON rules (`{ rules: [...], otherwise? }`), deciding over the message. */
const rulesCognition = ruleSetJsonSchema.extend({ type: z.literal('rules') });

/** `knowledge`: answers with the best passages of the knowledge base, cited, without a model. */
const knowledgeCognition = z.strictObject({ type: z.literal('knowledge') });

/** `builtin`: a definition shipped with Agentfleet (`act`, the seed's trust decision). */
const builtinCognition = z.strictObject({ type: z.literal('builtin'), name: z.enum(['act']) });

/** How an agent decides. */
export const cognitionSpecSchema = z.discriminatedUnion('type', [
  llmCognition,
  rulesCognition,
  knowledgeCognition,
  builtinCognition,
]);

/**
 * Whether a call waits for a person: `always`, `never` (default), or `{ when, reason }`, a
 * condition over the call's arguments in the rules' JSON form (e.g. `{ path: amount, op: gt,
 * value: 100 }`), with the reason shown to the approver.
 */
export const toolApprovalSpecSchema = z.union([
  z.enum(['always', 'never']),
  z.strictObject({ when: conditionSchema, reason: z.string().min(1).max(1000).optional() }),
]);

/** The approval and re-run settings every tool entry may carry. */
const approvalFields = {
  approval: toolApprovalSpecSchema.optional(),
  /** True when a call may run twice without harm: a run interrupted mid-call re-runs it instead of asking. */
  idempotent: z.boolean().optional(),
};

/** MCP server over stdio (`command`) or streamable HTTP (`url`); its tools are offered to the model. */
const mcpToolSpec = z
  .strictObject({
    type: z.literal('mcp'),
    /** Put before every tool name (`<prefix>_<name>`). */
    prefix: toolName.optional(),
    command: z.string().min(1).optional(),
    args: z.array(z.string()).optional(),
    env: z.record(z.string(), z.string()).optional(),
    /** Working directory of the command, relative to the spec file. */
    cwd: z.string().min(1).optional(),
    url: z.url({ protocol: /^https?$/ }).optional(),
    headers: headers.optional(),
    /** Milliseconds a call may take. */
    timeoutMs: z.number().int().min(1).max(3_600_000).optional(),
    ...approvalFields,
  })
  .superRefine((t, ctx) => {
    if ((t.command === undefined) === (t.url === undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['command'],
        message: 'give command (stdio) or url (HTTP), exactly one',
      });
    if (t.url !== undefined)
      for (const key of ['args', 'env', 'cwd'] as const)
        if (t[key] !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: `${key} is for stdio servers (command), not url`,
          });
    if (t.command !== undefined && t.headers !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['headers'],
        message: 'headers are for HTTP servers (url), not command',
      });
  });

/** An HTTP endpoint offered as a tool; the model's arguments are checked against `parameters`. */
const httpToolSpec = z.strictObject({
  type: z.literal('http'),
  name: toolName,
  description: z.string().min(1).max(2000),
  url: z.url({ protocol: /^https?$/ }),
  /** Default `GET`. Arguments not in the URL go in a JSON body (POST, PUT, PATCH) or the query string. */
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']).optional(),
  headers: headers.optional(),
  /** JSON Schema of the arguments (an object schema). */
  parameters: jsonSchemaObject,
  timeoutMs: z.number().int().min(1).max(3_600_000).optional(),
  /** Bytes of response body read at most. Default 1 MiB. */
  maxResponseBytes: z
    .number()
    .int()
    .min(1)
    .max(64 * 1024 * 1024)
    .optional(),
  ...approvalFields,
});

/** Built-in: search the agent's knowledge base. */
const knowledgeSearchToolSpec = z.strictObject({
  type: z.literal('knowledge-search'),
  name: toolName.optional(),
  description: z.string().min(1).max(2000).optional(),
  /** Passages per search. Default: `knowledge.k`. */
  k: z.number().int().min(1).max(50).optional(),
});

/** Built-in: send a message to another agent of the same tenant and return its reply. */
const messageAgentToolSpec = z
  .strictObject({
    type: z.literal('message-agent'),
    /** Ids of the agents the model may message. */
    agents: z.array(name).max(1000).optional(),
    /** Definitions whose agents the model may message. */
    definitions: z.array(name).max(1000).optional(),
    name: toolName.optional(),
    description: z.string().min(1).max(2000).optional(),
    /** Agents a chain of messages may pass through after the first caller. Default 3. */
    maxHops: z.number().int().min(0).max(16).optional(),
    timeoutMs: z.number().int().min(1).max(3_600_000).optional(),
    approval: toolApprovalSpecSchema.optional(),
  })
  .refine((t) => (t.agents?.length ?? 0) + (t.definitions?.length ?? 0) > 0, {
    message: 'give agents or definitions the model may message',
    path: ['agents'],
  });

/** One tool entry of a spec. */
export const toolSpecSchema = z.discriminatedUnion('type', [
  mcpToolSpec,
  httpToolSpec,
  knowledgeSearchToolSpec,
  messageAgentToolSpec,
]);

/** Which knowledge the agent searches. */
export const knowledgeSpecSchema = z.strictObject({
  /** Passages per search. Default 3. */
  k: z.number().int().min(1).max(50).default(3),
  /** The tenant whose documents are searched when a message carries none (the node's shared docs). Default `default`. */
  tenant: name.optional(),
  /** Files (relative to the spec file) ingested into that tenant's knowledge when the spec is compiled. */
  documents: z.array(z.string().min(1)).max(10_000).optional(),
});

/** Conversation memory of an `llm` agent. */
export const memorySpecSchema = z.strictObject({
  /** Messages kept per agent (system prompt not counted). Default 50. */
  maxMessages: z.number().int().min(0).max(100_000).optional(),
  /** Agents whose conversations are kept (LRU). Default 10,000. */
  maxConversations: z.number().int().min(1).max(10_000_000).optional(),
});

/** One agent definition as a file (YAML or JSON). */
export const agentSpecSchema = z.strictObject({
  /** Editors' JSON Schema reference; ignored. */
  $schema: z.string().optional(),
  name,
  description: z.string().max(1000).optional(),
  version: z.string().min(1).max(64).optional(),
  cognition: cognitionSpecSchema,
  tools: z.array(toolSpecSchema).max(256).optional(),
  knowledge: knowledgeSpecSchema.optional(),
  memory: memorySpecSchema.optional(),
  /** Resilience policy of the model calls (rate limit → breaker → retry → bulkhead → timeout). */
  resilience: resiliencePolicySchema.optional(),
  /**
   * Tokens and/or cost of each agent's model calls per period (`{ tokensPerPeriod?,
   * costPerPeriod?, periodSeconds? }`), checked before each call beside its tenant's budget.
   * Counted per agent (tenant and id), for `llm` cognition.
   */
  budget: budgetSchema.optional(),
  /** Models tried in order when the primary one fails (`provider/model`). */
  fallbacks: z.array(modelRefSchema).max(16).optional(),
  /**
   * Relevance, TTL rules and limits of these agents' state in the node's state store (the
   * store's own configuration, `AGENTFLEET_STATE_CONFIG`, for agents of specs without one).
   */
  state: stateSyncConfigSchema.optional(),
  /** JSON Schema every message must satisfy; bad messages get `INVALID_INPUT`. */
  input: jsonSchemaObject.optional(),
  /**
   * Whether an `llm` agent's runs are durable: checkpointed in the node's run store, resumed
   * after a restart, not cancelled when the client disconnects (cancel is explicit). Default true.
   */
  durable: z.boolean().optional(),
  /** Messages one agent handles at once. Default 1 (in order). */
  concurrency: z.number().int().min(1).max(1_000_000).optional(),
  /** Messages that may wait in an agent's mailbox. Default: the runtime's. */
  mailboxCapacity: z.number().int().min(0).max(100_000_000).optional(),
});

/** A spec as written in a file (defaults not filled in). */
export type AgentSpecInput = z.input<typeof agentSpecSchema>;
/** A validated spec, defaults filled in. */
export type AgentSpecDocument = z.output<typeof agentSpecSchema>;
/** The `cognition` section of a validated spec. */
export type CognitionSpec = AgentSpecDocument['cognition'];
/** One validated tool entry. */
export type ToolSpec = z.output<typeof toolSpecSchema>;
