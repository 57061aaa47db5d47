import { z } from 'zod';
import { formatIssues, InvalidOptionsError, parseOptions } from '../errors/index.ts';
import { parseStateSyncConfig, type StateSyncConfig, type StateSyncConfigInput } from '../state/index.ts';
import type { RunRequest } from './agent-info.ts';
import type { AgentStreamPart } from './agent-stream.ts';

/** What every hook of an agent can see: who it is, its config and memory, and its run signal. */
export interface AgentContext<Config = unknown, Memory = unknown> {
  /** The agent's id, unique within its runtime. */
  readonly agentId: string;
  /** The name of the definition the agent was created from. */
  readonly definition: string;
  /** That definition's version (a durable run records the version it started with). */
  readonly version: string;
  /** The per-agent config given at creation, already validated by the definition's `config` schema. */
  readonly config: Config;
  /** Per-agent memory created by the definition's `memory(config)` on first use; `undefined` without it. */
  readonly memory: Memory;
  /** Aborted when the agent stops or fails: pass it to every long operation. */
  readonly signal: AbortSignal;
  /** Reports a crash from the agent's own background work: the agent moves to `failed`. */
  fail(error: unknown): void;
}

/** What perception, cognition and action see while one message is handled. */
export interface StepContext<Config = unknown, Memory = unknown> extends AgentContext<Config, Memory> {
  /** Aborted when the agent stops or fails, or when the sender abandons this message. */
  readonly signal: AbortSignal;
  /** Streams a part to the sender's `onEvent` (to HTTP clients as server-sent events); a no-op without one. */
  emit(part: AgentStreamPart): void;
  /** True when the sender listens to `emit` (worth streaming); false when only the result matters. */
  readonly observed: boolean;
  /** The durable run the sender named (`send(input, { run })`), if any. */
  readonly run: RunRequest | undefined;
}

type MaybePromise<T> = T | PromiseLike<T>;

/**
 * Cognition: a plain function, or an object with `decide` such as a rule engine or an LLM loop.
 * An object that keeps per-tenant data (an LLM loop's conversations) also has `purgeTenant`,
 * which `runtime.purgeTenant` calls when the tenant is deleted.
 */
export type Cognition<Percept, Decision, Ctx = StepContext> =
  | ((percept: Percept, ctx: Ctx) => MaybePromise<Decision>)
  | {
      decide(percept: Percept, ctx: Ctx): MaybePromise<Decision>;
      purgeTenant?(tenantId: string): MaybePromise<unknown>;
    };

/** What to do when perception, cognition or action throws: reject that message, or fail the agent. */
export type StepErrorPolicy = 'reject' | 'fail';

/**
 * The blueprint of an agent: Perception → Cognition → Action over each message, plus
 * optional start/stop hooks. Every function may be synchronous or return a promise.
 */
export interface AgentSpec<Input, Percept, Decision, Output, Config = unknown, Memory = unknown> {
  /** Unique name the definition is registered under; letters, digits, `.`, `_`, `-`. */
  name: string;
  /** One line for humans (shown by the API and console). */
  description?: string;
  /** Version of the definition, reported on traces as `agent.version`. Default `1`. */
  version?: string;
  /** Validates every incoming message; bad ones are rejected with `INVALID_INPUT`. */
  input?: z.ZodType<Input>;
  /** Validates the per-agent config given at creation; bad config is rejected with `INVALID_INPUT`. */
  config?: z.ZodType<Config>;
  /** Creates the agent's memory from its config, on first use. */
  memory?: (config: Config) => Memory;
  /** Perception: turns a raw message into what cognition reasons about. Default: the message itself. */
  perceive?: (input: Input, ctx: StepContext<Config, Memory>) => MaybePromise<Percept>;
  /** Cognition: decides what to do. */
  decide: Cognition<Percept, Decision, StepContext<Config, Memory>>;
  /** Action: carries the decision out and returns the reply. Default: the decision itself. */
  act?: (decision: Decision, ctx: StepContext<Config, Memory>) => MaybePromise<Output>;
  /** Runs before the agent is `running`; throwing fails the agent. */
  onStart?: (ctx: AgentContext<Config, Memory>) => MaybePromise<void>;
  /** Cleanup when the agent stops or fails; bounded by the stop deadline. */
  onStop?: (ctx: AgentContext<Config, Memory>) => MaybePromise<void>;
  /** Messages handled at once by one agent. Default 1 (in order). */
  concurrency?: number;
  /** Messages that may wait in the mailbox. Default: the runtime's `mailboxCapacity`. */
  mailboxCapacity?: number;
  /** Milliseconds `stop()` waits for in-flight messages and `onStop` before forcing. Default: the runtime's. */
  stopTimeoutMs?: number;
  /** What a throwing step does. Default `'reject'`: the sender gets `AGENT_STEP_FAILED`, the agent goes on. */
  onStepError?: StepErrorPolicy;
  /**
   * Whether the agents' runs are durable (an LLM cognition with a run store): a disconnected
   * HTTP client does not cancel such a run (cancel is explicit). Default: true when `decide` is
   * an object with a `runs` store, else false.
   */
  durable?: boolean;
  /**
   * Relevance, TTL rules and limits of these agents' state in the node's state store (a spec's
   * `state` section). Default: the store's own configuration.
   */
  state?: StateSyncConfigInput;
}

/** A validated, frozen agent definition, ready to register with a runtime. */
export interface AgentDefinition<Input = unknown, Output = unknown, Config = unknown, Memory = unknown> {
  readonly name: string;
  readonly description: string;
  /** Version of the definition (`agent.version` on its spans). Default `1`. */
  readonly version: string;
  readonly input: z.ZodType<Input> | undefined;
  readonly config: z.ZodType<Config> | undefined;
  readonly memory: ((config: Config) => Memory) | undefined;
  readonly perceive: ((input: Input, ctx: StepContext<Config, Memory>) => unknown) | undefined;
  readonly decide: (percept: unknown, ctx: StepContext<Config, Memory>) => unknown;
  readonly act: ((decision: never, ctx: StepContext<Config, Memory>) => MaybePromise<Output>) | undefined;
  readonly onStart: ((ctx: AgentContext<Config, Memory>) => MaybePromise<void>) | undefined;
  readonly onStop: ((ctx: AgentContext<Config, Memory>) => MaybePromise<void>) | undefined;
  readonly concurrency: number;
  readonly mailboxCapacity: number | undefined;
  readonly stopTimeoutMs: number | undefined;
  readonly onStepError: StepErrorPolicy;
  /** True when the agents' runs are durable: a client's disconnect is not a cancel. */
  readonly durable: boolean;
  /** The agents' state rules, validated, or undefined for the state store's own. */
  readonly state: StateSyncConfig | undefined;
  /** The cognition's `purgeTenant`, when it keeps per-tenant data; called by `runtime.purgeTenant`. */
  readonly purgeTenant: ((tenantId: string) => MaybePromise<unknown>) | undefined;
}

/** Definitions that went through `defineAgent`, so a plain object or a copy cannot pass for one. */
const VALIDATED = new WeakSet<object>();

/** Names allowed for definitions and agent ids: safe in URLs, bus topics and metric labels. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const specScalars = z.object({
  name: z
    .string()
    .regex(NAME_PATTERN, 'must be 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit'),
  description: z.string().max(1000).optional(),
  version: z.string().min(1).max(64).optional(),
  concurrency: z.number().int().min(1).max(1_000_000).optional(),
  mailboxCapacity: z.number().int().min(0).max(100_000_000).optional(),
  stopTimeoutMs: z.number().int().min(0).max(86_400_000).optional(),
  onStepError: z.enum(['reject', 'fail']).optional(),
});

/**
 * Validates an agent blueprint and returns a frozen definition.
 * @throws InvalidOptionsError naming the bad field when the spec is malformed.
 */
export function defineAgent<
  Input,
  Percept = Input,
  Decision = unknown,
  Output = Decision,
  Config = unknown,
  Memory = undefined,
>(
  spec: AgentSpec<Input, Percept, Decision, Output, Config, Memory>,
): AgentDefinition<Input, Output, Config, Memory> {
  const scalars = parseOptions('agent definition', specScalars, {
    name: spec?.name,
    description: spec?.description,
    version: spec?.version,
    concurrency: spec?.concurrency,
    mailboxCapacity: spec?.mailboxCapacity,
    stopTimeoutMs: spec?.stopTimeoutMs,
    onStepError: spec?.onStepError,
  });
  for (const hook of ['memory', 'perceive', 'act', 'onStart', 'onStop'] as const) {
    if (spec[hook] !== undefined && typeof spec[hook] !== 'function') {
      throw new InvalidOptionsError(
        `Agent definition "${scalars.name}": ${hook} must be a function, got ${typeof spec[hook]}.`,
      );
    }
  }
  for (const schema of ['input', 'config'] as const) {
    const value = spec[schema] as { safeParse?: unknown } | undefined;
    if (value !== undefined && typeof value?.safeParse !== 'function') {
      throw new InvalidOptionsError(`Agent definition "${scalars.name}": ${schema} must be a zod schema.`);
    }
  }
  const definition: AgentDefinition<Input, Output, Config, Memory> = Object.freeze({
    name: scalars.name,
    description: scalars.description ?? '',
    version: scalars.version ?? '1',
    input: spec.input,
    config: spec.config,
    memory: spec.memory,
    perceive: spec.perceive as AgentDefinition<Input, Output, Config, Memory>['perceive'],
    decide: toDecideFunction(scalars.name, spec.decide) as AgentDefinition<
      Input,
      Output,
      Config,
      Memory
    >['decide'],
    act: spec.act as AgentDefinition<Input, Output, Config, Memory>['act'],
    onStart: spec.onStart,
    onStop: spec.onStop,
    concurrency: scalars.concurrency ?? 1,
    mailboxCapacity: scalars.mailboxCapacity,
    stopTimeoutMs: scalars.stopTimeoutMs,
    onStepError: scalars.onStepError ?? 'reject',
    state: stateRulesOf(scalars.name, spec.state),
    durable: spec.durable ?? hasRunStore(spec.decide),
    purgeTenant: purgeHookOf(spec.decide),
  });
  VALIDATED.add(definition);
  return definition;
}

function hasRunStore(decide: unknown): boolean {
  return typeof decide === 'object' && decide !== null && (decide as { runs?: unknown }).runs !== undefined;
}

/** @throws InvalidOptionsError naming the definition and each bad path of its `state`. */
function stateRulesOf(name: string, state: StateSyncConfigInput | undefined): StateSyncConfig | undefined {
  if (state === undefined) return undefined;
  try {
    return parseStateSyncConfig(state);
  } catch (error) {
    throw new InvalidOptionsError(`Agent definition "${name}": state: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** Whether a value is a definition returned by `defineAgent`. */
export function isAgentDefinition(value: unknown): value is AgentDefinition {
  return typeof value === 'object' && value !== null && VALIDATED.has(value);
}

function toDecideFunction<P, D, Ctx>(
  name: string,
  cognition: Cognition<P, D, Ctx>,
): (p: P, ctx: Ctx) => MaybePromise<D> {
  if (typeof cognition === 'function') return cognition;
  if (typeof cognition === 'object' && cognition !== null && typeof cognition.decide === 'function') {
    return cognition.decide.bind(cognition);
  }
  throw new InvalidOptionsError(
    `Agent definition "${name}": decide must be a function or an object with a decide() method (a rule engine, an LLM loop).`,
  );
}

function purgeHookOf(cognition: unknown): ((tenantId: string) => MaybePromise<unknown>) | undefined {
  const purge = (cognition as { purgeTenant?: unknown } | null)?.purgeTenant;
  return typeof cognition === 'object' && typeof purge === 'function' ? purge.bind(cognition) : undefined;
}

/** Serialised size a config may have when its definition has no `config` schema. */
export const DEFAULT_MAX_CONFIG_BYTES = 64 * 1024;

/**
 * The per-agent config an agent of `definition` gets: parsed by the definition's `config`
 * schema, or — without one — kept as given but only if it is JSON of at most `maxBytes`
 * (UTF-8), so an unvalidated config cannot pin unbounded memory per agent.
 * Returns the problems instead when it is refused.
 */
export function resolveAgentConfig<C>(
  definition: Pick<AgentDefinition<never, unknown, C, never>, 'name' | 'config'>,
  config: unknown,
  maxBytes: number,
): { ok: true; config: C } | { ok: false; problems: string[] } {
  if (definition.config !== undefined) {
    const parsed = definition.config.safeParse(config);
    return parsed.success
      ? { ok: true, config: parsed.data }
      : { ok: false, problems: formatIssues(parsed.error) };
  }
  if (config === undefined) return { ok: true, config: config as C };
  let json: string | undefined;
  try {
    json = JSON.stringify(config);
  } catch (error) {
    return {
      ok: false,
      problems: [
        `config must be JSON when "${definition.name}" declares no config schema (${(error as Error).message}); declare one to accept other values`,
      ],
    };
  }
  const bytes = json === undefined ? 0 : Buffer.byteLength(json, 'utf8');
  return bytes <= maxBytes
    ? { ok: true, config: config as C }
    : {
        ok: false,
        problems: [
          `config is ${bytes} bytes of JSON, over the ${maxBytes}-byte limit for definitions without a config schema (raise the runtime's maxConfigBytes, or declare a config schema)`,
        ],
      };
}
