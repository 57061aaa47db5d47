import { z } from 'zod';
import type { AgentStreamListener, Runtime } from '../../core/index.ts';
import { formatIssues } from '../../errors/index.ts';
import { agentId } from '../agent-id.ts';
import { clientSignal } from '../client-signal.ts';
import { EventStream, type EventStreamOptions } from '../event-stream.ts';
import { errorJson, HttpError, sendJson } from '../http-errors.ts';
import { readJsonBody } from '../read-json-body.ts';
import type { Router } from '../router.ts';

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

/** Sums `step-finish` usage events of an LLM agent. */
function usageCounter(): {
  usage: Usage;
  onEvent: AgentStreamListener;
  onText: (f: (t: string) => void) => void;
} {
  const usage = { inputTokens: 0, outputTokens: 0 };
  let textSink: ((t: string) => void) | undefined;
  return {
    usage,
    onText: (f) => {
      textSink = f;
    },
    onEvent: (part) => {
      if (part.type === 'step-finish') {
        usage.inputTokens += part.usage.inputTokens;
        usage.outputTokens += part.usage.outputTokens;
      } else if (part.type === 'text-delta') textSink?.(part.text);
    },
  };
}

/** `POST /v1/chat/completions`, with `model` naming an agent. */
export function addChatCompletionsRoute(
  router: Router,
  runtime: Runtime,
  bodyLimitBytes: number,
  streams: EventStreamOptions = {},
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
    runtime.agent(model); // AGENT_NOT_FOUND (404) before anything is sent
    const id = `chatcmpl-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
    const created = Math.floor(Date.now() / 1000);
    const counter = usageCounter();
    const usageJson = () => ({
      prompt_tokens: counter.usage.inputTokens,
      completion_tokens: counter.usage.outputTokens,
      total_tokens: counter.usage.inputTokens + counter.usage.outputTokens,
    });
    if (body.stream !== true) {
      const signal = clientSignal(req, res);
      const output = await runtime.send(model, input, { signal, onEvent: counter.onEvent });
      sendJson(res, 200, {
        id,
        object: 'chat.completion',
        created,
        model: body.model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: outputText(output), refusal: null },
            finish_reason: 'stop',
            logprobs: null,
          },
        ],
        usage: usageJson(),
      });
      return;
    }
    const stream = EventStream.open(req, res, streams);
    if (stream === undefined) return;
    const write = (data: unknown) => stream.send(undefined, data);
    const chunk = (delta: Record<string, unknown>, finish: string | null) =>
      write({
        id,
        object: 'chat.completion.chunk',
        created,
        model: body.model,
        choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
      });
    chunk({ role: 'assistant', content: '' }, null);
    let streamed = false;
    counter.onText((text) => {
      streamed = true;
      chunk({ content: text }, null);
    });
    try {
      const output = await runtime.send(model, input, { signal: stream.signal, onEvent: counter.onEvent });
      if (!streamed) chunk({ content: outputText(output) }, null);
      chunk({}, 'stop');
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
