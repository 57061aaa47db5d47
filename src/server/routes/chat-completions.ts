import { z } from 'zod';
import type { AgentFleet, FleetReply } from '../../cluster/index.ts';
import type { AgentStreamListener } from '../../core/index.ts';
import { AgentfleetError, formatIssues } from '../../errors/index.ts';
import { newRunId, type RunService } from '../../runs/index.ts';
import { agentId } from '../agent-id.ts';
import { clientSignal } from '../client-signal.ts';
import { EventStream, type EventStreamOptions } from '../event-stream.ts';
import { errorJson, HttpError, sendJson } from '../http-errors.ts';
import { readJsonBody } from '../read-json-body.ts';
import type { Router } from '../router.ts';
import { approvalJson } from './approvals.ts';

// OpenAI's Chat Completions, served: `model` names an agent, the last user message is its
// input, and the answer comes back in OpenAI's shape (streamed as chunks when asked), so any
// OpenAI client can talk to an Agentfleet agent.

const textPart = z.object({ type: z.literal('text'), text: z.string() });
const chatBody = z
  .object({
    model: z.string().min(1).max(200),
    messages: z
      .array(
        z
          .object({
            role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
            content: z
              .union([
                z.string(),
                z.array(z.union([textPart, z.object({ type: z.string() }).loose()])),
                z.null(),
              ])
              .optional(),
          })
          .loose(),
      )
      .min(1),
    stream: z.boolean().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).loose().nullish(),
  })
  .loose();

interface Usage {
  inputTokens: number;
  outputTokens: number;
}

function lastUserText(messages: z.infer<typeof chatBody>['messages']): string {
  const message = messages.findLast((m) => m.role === 'user');
  if (message === undefined) throw new HttpError('INVALID_REQUEST', 'messages must contain a user message.');
  const content = message.content;
  if (typeof content === 'string') return content;
  return (content ?? [])
    .map((p) => (p.type === 'text' ? String((p as { text: unknown }).text) : ''))
    .join('');
}

/** The text of an agent's output: a string, an LLM answer's `text`, or JSON. */
function outputText(output: unknown): string {
  if (typeof output === 'string') return output;
  const text = (output as { text?: unknown } | null)?.text;
  return typeof text === 'string' ? text : JSON.stringify(output ?? null);
}

/** Sums `step-finish` usage events of an LLM agent, and keeps the approvals it asked for. */
function usageCounter(): {
  usage: Usage;
  requested: Requested[];
  onEvent: AgentStreamListener;
  onText: (f: (t: string) => void) => void;
} {
  const usage = { inputTokens: 0, outputTokens: 0 };
  const requested: Requested[] = [];
  let textSink: ((t: string) => void) | undefined;
  return {
    usage,
    requested,
    onText: (f) => {
      textSink = f;
    },
    onEvent: (part) => {
      if (part.type === 'step-finish') {
        usage.inputTokens += part.usage.inputTokens;
        usage.outputTokens += part.usage.outputTokens;
      } else if (part.type === 'text-delta') textSink?.(part.text);
      else if (part.type === 'tool-approval-request')
        requested.push({
          id: part.approvalId,
          tool: part.call.name,
          callId: part.call.id,
          kind: part.kind,
          ...(part.reason === undefined ? {} : { reason: part.reason }),
        });
    },
  };
}

/** What a durable run's completion adds at its top level: the run, and what it waits for. */
interface RunNote {
  runId: string;
  status: string;
  approvals?: Array<Record<string, unknown>>;
}

/** An approval a run asked for, as its `tool-approval-request` part said. */
type Requested = Record<string, unknown> & { id: string; tool: string };

/**
 * Where a durable run stands after its message: finished, or suspended for approvals (then
 * the text tells the client how to decide each one). A run the node's store does not hold
 * (an agent with a run store of its own) is judged by the approvals its parts asked for.
 */
async function runNote(
  runs: RunService,
  runId: string,
  requested: readonly Requested[],
): Promise<{ note: RunNote; waiting?: string }> {
  const run = await runs.get(runId).catch((error: unknown) => {
    if (AgentfleetError.isInstance(error) && error.code === 'RUN_NOT_FOUND') return undefined;
    throw error;
  });
  if (run !== undefined && run.status !== 'awaiting-approval') return { note: { runId, status: run.status } };
  const approvals: Requested[] =
    run === undefined
      ? [...requested]
      : (await runs.listApprovals({ runId, status: 'pending' })).map((a) => approvalJson(a) as Requested);
  if (approvals.length === 0) return { note: { runId, status: run?.status ?? 'completed' } };
  const waiting = approvals
    .map(
      (a) => `Waiting for approval of ${a.tool} (approval ${a.id}); approve with POST /v1/approvals/${a.id}`,
    )
    .join('\n');
  return { note: { runId, status: 'awaiting-approval', approvals }, waiting };
}

/** The visible text of a suspended run's answer: what the model said before the call, if anything. */
function suspendedText(output: unknown): string {
  if (typeof output === 'string') return output;
  const text = (output as { text?: unknown } | null)?.text;
  return typeof text === 'string' ? text : '';
}

/**
 * `POST /v1/chat/completions`, with `model` naming an agent. A durable agent's message runs
 * through `runs` (a disconnect is not a cancel), and the completion carries an extra
 * top-level `agentfleet: { runId, status, approvals? }`; a run that suspends for approvals
 * ends with `finish_reason: "stop"` and a message saying which approvals to decide, and how.
 */
export function addChatCompletionsRoute(
  router: Router,
  fleet: AgentFleet,
  bodyLimitBytes: number,
  streams: EventStreamOptions = {},
  runs?: RunService,
): void {
  router.add('POST', '/v1/chat/completions', async (req, res) => {
    const parsed = chatBody.safeParse(await readJsonBody(req, bodyLimitBytes));
    if (!parsed.success) {
      throw new HttpError(
        'INVALID_REQUEST',
        `Invalid chat completion request: ${formatIssues(parsed.error).join('; ')}`,
      );
    }
    const body = parsed.data;
    const input = lastUserText(body.messages);
    const model = agentId(body.model);
    const agent = await fleet.info(model); // AGENT_NOT_FOUND (404) before anything is sent
    const runId = runs !== undefined && agent.durable === true ? newRunId() : undefined;
    const id = `chatcmpl-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
    const created = Math.floor(Date.now() / 1000);
    const counter = usageCounter();
    const usageJson = () => ({
      prompt_tokens: counter.usage.inputTokens,
      completion_tokens: counter.usage.outputTokens,
      total_tokens: counter.usage.inputTokens + counter.usage.outputTokens,
    });
    // A durable agent's message is a run a disconnect does not cancel; a plain one's is cancelled.
    const send = (signal: AbortSignal) =>
      fleet.send(model, input, {
        onEvent: counter.onEvent,
        ...(runId === undefined ? { signal } : { runId }),
      });
    /** The answer's text and, for a durable run, where the run stands. */
    const settle = async ({
      output,
      runId,
    }: FleetReply): Promise<{ text: string; waiting?: string; extra: { agentfleet?: RunNote } }> => {
      if (runs === undefined || runId === undefined) return { text: outputText(output), extra: {} };
      const { note, waiting } = await runNote(runs, runId, counter.requested);
      if (waiting === undefined) return { text: outputText(output), extra: { agentfleet: note } };
      const said = suspendedText(output);
      return { text: said === '' ? waiting : `${said}\n\n${waiting}`, waiting, extra: { agentfleet: note } };
    };
    if (body.stream !== true) {
      const { text, extra } = await settle(await send(clientSignal(req, res)));
      sendJson(res, 200, {
        id,
        object: 'chat.completion',
        created,
        model: body.model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: text, refusal: null },
            finish_reason: 'stop',
            logprobs: null,
          },
        ],
        usage: usageJson(),
        ...extra,
      });
      return;
    }
    const stream = EventStream.open(req, res, streams);
    if (stream === undefined) return;
    const write = (data: unknown) => stream.send(undefined, data);
    const chunk = (delta: Record<string, unknown>, finish: string | null, extra: object = {}) =>
      write({
        id,
        object: 'chat.completion.chunk',
        created,
        model: body.model,
        choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
        ...extra,
      });
    chunk({ role: 'assistant', content: '' }, null);
    let streamed = false;
    counter.onText((text) => {
      streamed = true;
      chunk({ content: text }, null);
    });
    try {
      const { text, waiting, extra } = await settle(await send(stream.signal));
      // A suspended run's text is what to do next; after streamed text, it follows a blank line.
      if (waiting !== undefined) chunk({ content: streamed ? `\n\n${waiting}` : text }, null);
      else if (!streamed) chunk({ content: text }, null);
      chunk({}, 'stop', extra);
      if (body.stream_options?.include_usage) {
        write({
          id,
          object: 'chat.completion.chunk',
          created,
          model: body.model,
          choices: [],
          usage: usageJson(),
        });
      }
      stream.raw('data: [DONE]\n\n');
    } catch (error) {
      write({ error: { ...errorJson(error), type: 'agent_error' } });
    } finally {
      stream.close();
    }
  });
}
