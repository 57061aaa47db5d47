import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { z } from 'zod';
import { actAgent } from '../agents/index.ts';
import type { BudgetGate } from '../budgets/index.ts';
import { type AgentDefinition, defineAgent, type StepContext } from '../core/index.ts';
import { AbortedError, InvalidOptionsError } from '../errors/index.ts';
import { KnowledgeBase, knowledgeCognition } from '../knowledge/index.ts';
import { type LlmCognition, type LlmInput, llm } from '../llm-agent/index.ts';
import type { ModelRegistry } from '../models/index.ts';
import type { ProvenanceSink } from '../provenance/index.ts';
import { rulesFromJSON } from '../rules/index.ts';
import type { RunStore } from '../runs/index.ts';
import type { AgentMessenger } from '../tools/index.ts';
import type { AgentSpecDocument } from './agent-spec-schema.ts';
import { BUNDLE_TENANT, type KnowledgeSearch, withBundledDocuments } from './bundled-knowledge.ts';
import { compileJsonSchema, describeJsonSchemaErrors } from './json-schema-check.ts';
import type { LoadedAgentSpec } from './load-agent-specs.ts';
import { bindModel } from './model-binding.ts';
import { buildSpecTools, type SpecTools } from './spec-tools.ts';

/** What compiling a spec needs from the node. Each part is needed only by the specs that use it. */
export interface CompileAgentSpecDeps {
  /** Resolves `provider/model` (`llm` cognition, fallbacks). Without it, `llm` agents answer `MODEL_NOT_CONFIGURED`. */
  models?: ModelRegistry;
  /** For `knowledge` cognition, `knowledge-search` tools, `llm` retrieval and `knowledge.documents`. */
  knowledge?: KnowledgeBase;
  /** Where `message-agent` tools send: the node's runtime (`send`, `get`). */
  messaging?: AgentMessenger;
  /** Durable runs of `llm` agents (unless a spec says `durable: false`): the node's run store and id. */
  runs?: { store: RunStore; owner: string; approvalTtlMs?: number | undefined };
  /** Checks tenants' and agents' budgets before each model call of `llm` agents (the node's gate). */
  budgets?: BudgetGate;
  /** Where `llm` agents record each decision's provenance (the node's recorder). */
  provenance?: ProvenanceSink;
  signal?: AbortSignal;
}

/** A compiled spec: the definition to register, and the resources it holds (MCP connections, policies). */
export interface CompiledAgentSpec {
  readonly definition: AgentDefinition;
  /** Disconnects MCP servers and releases the model's resilience policy; idempotent. */
  close(): Promise<void>;
}

/** A JSON Schema as a zod schema, so the runtime rejects bad messages with `INVALID_INPUT`. */
function zodOfJsonSchema(schema: Record<string, unknown>): z.ZodType {
  const validate = compileJsonSchema(schema);
  return z
    .custom<unknown>(() => true)
    .superRefine((value, ctx) => {
      if (validate(value)) return;
      for (const problem of describeJsonSchemaErrors(validate.errors))
        ctx.addIssue({ code: 'custom', message: problem });
    })
    .meta(schema as Record<string, never>);
}

/**
 * Loads `knowledge.documents` into a store of the spec's own (in memory), each under its file
 * name: no tenant's API reaches it and no tenant's deletion removes it.
 */
async function openBundle(loaded: LoadedAgentSpec, signal: AbortSignal | undefined): Promise<KnowledgeBase> {
  const base = await KnowledgeBase.open();
  try {
    await ingest(loaded, base, signal);
  } catch (error) {
    await base.close();
    throw error;
  }
  return base;
}

async function ingest(
  loaded: LoadedAgentSpec,
  base: KnowledgeBase,
  signal: AbortSignal | undefined,
): Promise<void> {
  const tenant = BUNDLE_TENANT;
  for (const file of loaded.documents) {
    if (signal?.aborted)
      throw new AbortedError('Compiling the agent spec was aborted.', { cause: signal.reason });
    const text = await readFile(file, 'utf8');
    await base.upsert({ id: basename(file), tenant, text, metadata: { source: file } });
  }
}

function asLoaded(spec: AgentSpecDocument | LoadedAgentSpec): LoadedAgentSpec {
  if ('spec' in spec) return spec;
  const system = spec.cognition.type === 'llm' ? spec.cognition.system : undefined;
  if (spec.cognition.type === 'llm' && spec.cognition.systemFile !== undefined)
    throw new InvalidOptionsError(
      `Spec ${spec.name}: systemFile needs a spec from loadAgentSpecs (or resolveSpecFiles).`,
    );
  if (spec.knowledge?.documents !== undefined)
    throw new InvalidOptionsError(
      `Spec ${spec.name}: knowledge.documents needs a spec from loadAgentSpecs (or resolveSpecFiles).`,
    );
  return { spec, source: spec.name, baseDir: process.cwd(), system, documents: [] };
}

/**
 * Turns a validated spec into an agent definition for `runtime.register`. An `llm` agent's
 * model is resolved when its first message arrives, so a spec whose provider is not
 * configured still loads and each message answers `MODEL_NOT_CONFIGURED` naming the setting.
 * @throws InvalidOptionsError when the spec needs a dependency the node did not give.
 * @throws AbortedError when `deps.signal` fires first.
 */
export async function compileAgentSpec(
  input: AgentSpecDocument | LoadedAgentSpec,
  deps: CompileAgentSpecDeps = {},
): Promise<CompiledAgentSpec> {
  const loaded = asLoaded(input);
  const { spec } = loaded;
  const cognition = spec.cognition;
  const needsKnowledge =
    cognition.type === 'knowledge' ||
    spec.knowledge?.documents !== undefined ||
    spec.tools?.some((t) => t.type === 'knowledge-search');
  if (needsKnowledge && deps.knowledge === undefined)
    throw new InvalidOptionsError(`Spec ${spec.name} needs a knowledge base; the node has none.`);
  // A spec's bundled documents are searched beside each caller tenant's own.
  const bundle =
    deps.knowledge !== undefined && loaded.documents.length > 0
      ? await openBundle(loaded, deps.signal)
      : undefined;
  const knowledge = deps.knowledge === undefined ? undefined : withBundledDocuments(deps.knowledge, bundle);
  try {
    const compiled = await compileCognition(loaded, deps, knowledge);
    return {
      definition: compiled.definition,
      close: async () => {
        await Promise.allSettled([compiled.close(), bundle?.close()]);
      },
    };
  } catch (error) {
    await bundle?.close();
    throw error;
  }
}

/** The definition of a spec over `knowledge` (the node's, with the spec's bundle beside it). */
async function compileCognition(
  loaded: LoadedAgentSpec,
  deps: CompileAgentSpecDeps,
  knowledge: KnowledgeSearch | undefined,
): Promise<CompiledAgentSpec> {
  const { spec } = loaded;
  const cognition = spec.cognition;
  const common = {
    name: spec.name,
    description: spec.description,
    version: spec.version,
    concurrency: spec.concurrency,
    mailboxCapacity: spec.mailboxCapacity,
    state: spec.state,
  };
  const input_ = spec.input === undefined ? undefined : zodOfJsonSchema(spec.input);
  if (cognition.type === 'rules') {
    const engine = rulesFromJSON({ rules: cognition.rules, otherwise: cognition.otherwise });
    return {
      definition: defineAgent({ ...common, input: input_, decide: engine }) as AgentDefinition,
      close: async () => {},
    };
  }
  if (cognition.type === 'knowledge') {
    const decide = knowledgeCognition({
      base: knowledge as KnowledgeSearch,
      k: spec.knowledge?.k,
      tenant: spec.knowledge?.tenant,
    });
    return {
      definition: defineAgent({
        ...common,
        input: input_ ?? z.union([z.string(), z.object({ content: z.string() })]),
        decide,
      }) as AgentDefinition,
      close: async () => {},
    };
  }
  if (cognition.type === 'builtin') {
    const definition = defineAgent({
      ...common,
      description: spec.description ?? actAgent.description,
      input: (input_ ?? actAgent.input) as typeof actAgent.input,
      perceive: actAgent.perceive as never,
      decide: actAgent.decide,
      act: actAgent.act as never,
      concurrency: spec.concurrency ?? actAgent.concurrency,
      mailboxCapacity: spec.mailboxCapacity ?? actAgent.mailboxCapacity,
    });
    return { definition: definition as AgentDefinition, close: async () => {} };
  }
  const tools: SpecTools = await buildSpecTools(spec.tools ?? [], {
    knowledge,
    knowledgeDefaults: { k: spec.knowledge?.k, tenant: spec.knowledge?.tenant },
    messaging: deps.messaging,
    baseDir: loaded.baseDir,
    signal: deps.signal,
  });
  const output = cognition.output === undefined ? undefined : zodOfJsonSchema(cognition.output);
  const durable = spec.durable === false ? undefined : deps.runs;
  let bound: LlmCognition<unknown> | undefined;
  const cognitionFor = (): LlmCognition<unknown> => {
    if (bound !== undefined) return bound;
    const { provider, model } = bindModel(deps.models, cognition.model, spec.fallbacks);
    bound = llm<unknown>({
      model,
      provider,
      system: loaded.system,
      tools: tools.tools,
      maxSteps: cognition.maxSteps,
      temperature: cognition.temperature,
      maxTokens: cognition.maxTokens,
      output: output as z.ZodType<unknown> | undefined,
      memory: spec.memory,
      ...(durable === undefined
        ? {}
        : { runs: durable.store, runOwner: durable.owner, approvalTtlMs: durable.approvalTtlMs }),
      resilience: spec.resilience,
      ...(deps.budgets === undefined
        ? {}
        : { budgets: deps.budgets, budget: spec.budget, priceAs: cognition.model }),
      ...(deps.provenance === undefined ? {} : { provenance: deps.provenance }),
      knowledge:
        spec.knowledge === undefined || knowledge === undefined
          ? undefined
          : { base: knowledge, k: spec.knowledge.k, tenant: spec.knowledge.tenant },
    });
    return bound;
  };
  const decide = {
    decide: (percept: LlmInput, ctx: StepContext) => cognitionFor().decide(percept, ctx as never),
    purgeTenant: (tenantId: string) => bound?.purgeTenant(tenantId),
  };
  const definition = defineAgent({
    ...common,
    input: input_ ?? z.union([z.string(), z.object({ content: z.string() }).loose()]),
    decide,
    durable: durable !== undefined,
  });
  let closed = false;
  return {
    definition: definition as AgentDefinition,
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([bound?.close(), tools.close()]);
    },
  };
}
