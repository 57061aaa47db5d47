import {
  inSpan,
  recordFailure,
  SpanKind,
  type ToolCallEvent,
  toolCallChannel,
  tracingEnabled,
} from '../context/index.ts';
import { AbortedError, AgentfleetError, formatIssues, InvalidOptionsError } from '../errors/index.ts';
import type { ToolCall, ToolMessage, ToolSpec } from '../llm/index.ts';
import type { Tool } from './define.ts';

/** Why a call failed; the model gets it as the tool's answer and can recover. */
export type ToolErrorCode = 'TOOL_UNKNOWN' | 'TOOL_ARGUMENTS_INVALID' | 'TOOL_FAILED' | 'TOOL_TIMEOUT';

export interface ToolOutcome {
  call: ToolCall;
  /** The message that goes back to the model. */
  message: ToolMessage;
  error: { code: ToolErrorCode; message: string } | undefined;
  /** The tool's return value (before serialisation), when it succeeded. */
  value: unknown;
  durationMs: number;
}

export interface ToolStats {
  calls: number;
  succeeded: number;
  unknownTool: number;
  invalidArguments: number;
  failed: number;
  timedOut: number;
  truncated: number;
}

export interface ToolRunnerOptions {
  /** Calls of one model turn run at once, at most. Default 8. */
  concurrency?: number;
  /** Milliseconds a call may take unless the tool sets its own. Default 30,000. */
  timeoutMs?: number;
  /** Characters of a result the model sees; longer ones are cut with a marker. Default 16,000. */
  maxResultChars?: number;
}

/**
 * Runs the tool calls a model asked for: parses and validates arguments, runs calls
 * concurrently up to a limit with a timeout each, and turns every outcome — including unknown
 * tools, bad arguments, throws and timeouts — into a tool message the model can act on.
 * It never throws for a tool's fault; only an aborted run rejects (`ABORTED`).
 */
export class ToolRunner {
  readonly #tools = new Map<string, Tool>();
  readonly #concurrency: number;
  readonly #timeoutMs: number;
  readonly #maxChars: number;
  readonly #stats: ToolStats = {
    calls: 0,
    succeeded: 0,
    unknownTool: 0,
    invalidArguments: 0,
    failed: 0,
    timedOut: 0,
    truncated: 0,
  };

  constructor(tools: readonly Tool[], options: ToolRunnerOptions = {}) {
    for (const tool of tools) {
      if (this.#tools.has(tool.name)) throw new InvalidOptionsError(`Two tools are named ${tool.name}.`);
      this.#tools.set(tool.name, tool);
    }
    this.#concurrency = positive(options.concurrency, 8, 'concurrency');
    this.#timeoutMs = positive(options.timeoutMs, 30_000, 'timeoutMs');
    this.#maxChars = positive(options.maxResultChars, 16_000, 'maxResultChars');
  }

  /** The tool of this name, if the runner has one. */
  tool(name: string): Tool | undefined {
    return this.#tools.get(name);
  }

  /** True when some tool may need a person's approval. */
  get needsApprovals(): boolean {
    for (const tool of this.#tools.values()) if (tool.needsApproval !== undefined) return true;
    return false;
  }

  /** The tools as the model sees them. */
  get specs(): ToolSpec[] {
    return [...this.#tools.values()].map((t) => t.spec);
  }

  stats(): ToolStats {
    return { ...this.#stats };
  }

  /**
   * Runs `calls`; outcomes come back in the calls' order. `agentId` (the agent whose model
   * asked) reaches every tool as `context.agentId`.
   */
  async run(
    calls: readonly ToolCall[],
    options: { signal?: AbortSignal; agentId?: string } = {},
  ): Promise<ToolOutcome[]> {
    const signal = options.signal;
    const agentId = options.agentId;
    if (signal?.aborted) throw new AbortedError();
    const outcomes = new Array<ToolOutcome>(calls.length);
    let next = 0;
    const worker = async () => {
      while (next < calls.length) {
        const index = next++;
        outcomes[index] = await this.#observed(calls[index] as ToolCall, signal, agentId);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, calls.length) }, worker));
    if (signal?.aborted) throw new AbortedError();
    return outcomes;
  }

  /** `#one`, inside an `execute_tool` span when traced, reported on `toolCallChannel`. */
  async #observed(
    call: ToolCall,
    signal: AbortSignal | undefined,
    agentId: string | undefined,
  ): Promise<ToolOutcome> {
    const traced = tracingEnabled();
    if (!traced && !toolCallChannel.hasSubscribers) return this.#one(call, signal, agentId);
    const began = performance.now();
    const run = () => this.#one(call, signal, agentId);
    const outcome = traced
      ? await inSpan(
          `execute_tool ${call.name}`,
          SpanKind.INTERNAL,
          {
            'gen_ai.operation.name': 'execute_tool',
            'gen_ai.tool.name': call.name,
            'gen_ai.tool.call.id': call.id,
            'gen_ai.tool.type': 'function',
          },
          run,
          {
            onResult: (span, o) => {
              if (o.error !== undefined) recordFailure(span, o.error);
            },
          },
        )
      : await run();
    if (toolCallChannel.hasSubscribers) {
      const event: ToolCallEvent = {
        tool: call.name,
        durationMs: performance.now() - began,
        outcome: outcome.error?.code ?? 'ok',
      };
      toolCallChannel.publish(event);
    }
    return outcome;
  }

  async #one(
    call: ToolCall,
    signal: AbortSignal | undefined,
    agentId: string | undefined,
  ): Promise<ToolOutcome> {
    const started = performance.now();
    this.#stats.calls++;
    const done = (error: ToolOutcome['error'], value: unknown, content: string): ToolOutcome => ({
      call,
      message: {
        role: 'tool',
        toolCallId: call.id,
        name: call.name,
        content,
        ...(error ? { isError: true } : {}),
      },
      error,
      value,
      durationMs: performance.now() - started,
    });
    const fail = (code: ToolErrorCode, message: string) => {
      this.#stats[STAT[code]]++;
      return done({ code, message }, undefined, JSON.stringify({ error: { code, message } }));
    };
    const tool = this.#tools.get(call.name);
    if (tool === undefined) {
      return fail(
        'TOOL_UNKNOWN',
        `There is no tool named ${JSON.stringify(call.name)}; the tools are: ${[...this.#tools.keys()].join(', ')}.`,
      );
    }
    let raw: unknown;
    try {
      raw = call.arguments.trim() === '' ? {} : JSON.parse(call.arguments);
    } catch (error) {
      return fail(
        'TOOL_ARGUMENTS_INVALID',
        `The arguments are not valid JSON (${(error as Error).message}). Send a JSON object.`,
      );
    }
    const parsed = tool.parameters.safeParse(raw);
    if (!parsed.success) {
      return fail(
        'TOOL_ARGUMENTS_INVALID',
        `The arguments do not match the schema: ${formatIssues(parsed.error).join('; ')}.`,
      );
    }
    const timeoutMs = tool.timeoutMs ?? this.#timeoutMs;
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout' | 'aborted'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
      controller.signal.addEventListener('abort', () => resolve('aborted'), { once: true });
    });
    try {
      const value = await Promise.race([
        Promise.resolve().then(() =>
          tool.execute(
            parsed.data,
            agentId === undefined
              ? { signal: controller.signal, callId: call.id }
              : { signal: controller.signal, callId: call.id, agentId },
          ),
        ),
        timeout,
      ]);
      if (value === 'aborted') return fail('TOOL_FAILED', 'The run was aborted.');
      if (value === 'timeout') {
        controller.abort(new Error('timeout'));
        return fail('TOOL_TIMEOUT', `The tool did not finish within ${timeoutMs} ms.`);
      }
      this.#stats.succeeded++;
      return done(undefined, value, this.#serialise(value));
    } catch (error) {
      if (signal?.aborted) return fail('TOOL_FAILED', 'The run was aborted.');
      const message = AgentfleetError.isInstance(error)
        ? `${error.code}: ${error.message}`
        : ((error as Error)?.message ?? String(error));
      return fail('TOOL_FAILED', `The tool failed: ${message}`);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  #serialise(value: unknown): string {
    let text: string;
    if (typeof value === 'string') text = value;
    else if (value === undefined) text = '';
    else {
      try {
        text = JSON.stringify(value) ?? '';
      } catch (error) {
        text = `[result not serialisable: ${(error as Error).message}]`;
      }
    }
    if (text.length <= this.#maxChars) return text;
    this.#stats.truncated++;
    return `${text.slice(0, this.#maxChars)}\n…[truncated: ${this.#maxChars} of ${text.length} characters shown]`;
  }
}

const STAT: Record<ToolErrorCode, keyof ToolStats> = {
  TOOL_UNKNOWN: 'unknownTool',
  TOOL_ARGUMENTS_INVALID: 'invalidArguments',
  TOOL_FAILED: 'failed',
  TOOL_TIMEOUT: 'timedOut',
};

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1)
    throw new InvalidOptionsError(`ToolRunner ${name} must be a positive integer.`);
  return value;
}
