import type { FinishReason, GenerateRequest, StreamEvent, ToolCall, Usage } from './types.ts';

interface PendingCall {
  id: string;
  name: string;
  arguments: string;
  ended: boolean;
}

/** ≈ 4 characters a token: the estimate used when a vendor does not report usage. */
export function estimateTokens(characters: number): number {
  return Math.ceil(characters / 4);
}

/** Input tokens of a request, estimated. */
export function estimateInput(request: GenerateRequest): number {
  let characters = 0;
  for (const m of request.messages) {
    characters += m.content.length;
    if (m.role === 'assistant')
      for (const c of m.toolCalls ?? []) characters += c.arguments.length + c.name.length;
  }
  for (const t of request.tools ?? [])
    characters += JSON.stringify(t.parameters).length + t.description.length;
  return estimateTokens(characters);
}

/**
 * Assembles a streamed answer: text, tool calls whose arguments arrive in pieces (kept exactly
 * as sent), usage (reported, or estimated at the end), and the finish reason. Adapters turn
 * vendor chunks into calls on it; it returns the normalised events to emit.
 */
export class StreamState {
  text = '';
  readonly #calls = new Map<number, PendingCall>();
  #usage: Usage | undefined;
  finishReason: FinishReason | undefined;
  readonly #request: GenerateRequest;

  constructor(request: GenerateRequest) {
    this.#request = request;
  }

  textDelta(text: string, out: StreamEvent[]): void {
    if (text === '') return;
    this.text += text;
    out.push({ type: 'text-delta', text });
  }

  /** A call's first chunk (id and name), or a later one that only carries arguments. */
  toolCall(
    index: number,
    id: string | undefined,
    name: string | undefined,
    args: string,
    out: StreamEvent[],
  ): void {
    let call = this.#calls.get(index);
    if (call === undefined) {
      call = { id: id || `call_${index}`, name: name ?? '', arguments: '', ended: false };
      this.#calls.set(index, call);
      out.push({ type: 'tool-call-start', index, id: call.id, name: call.name });
    } else if (name !== undefined && name !== '' && call.name === '') {
      call.name = name;
    }
    if (args !== '') {
      call.arguments += args;
      out.push({ type: 'tool-call-delta', index, argumentsDelta: args });
    }
  }

  endToolCall(index: number, out: StreamEvent[]): void {
    const call = this.#calls.get(index);
    if (call === undefined || call.ended) return;
    call.ended = true;
    out.push({
      type: 'tool-call-end',
      index,
      call: { id: call.id, name: call.name, arguments: call.arguments },
    });
  }

  usage(inputTokens: number | undefined, outputTokens: number | undefined, out: StreamEvent[]): void {
    const usage: Usage = {
      inputTokens: inputTokens ?? this.#usage?.inputTokens ?? 0,
      outputTokens: outputTokens ?? this.#usage?.outputTokens ?? 0,
      reported: true,
    };
    this.#usage = usage;
    out.push({ type: 'usage', usage });
  }

  get hasUsage(): boolean {
    return this.#usage !== undefined;
  }

  toolCalls(): ToolCall[] {
    return [...this.#calls.values()].map((c) => ({ id: c.id, name: c.name, arguments: c.arguments }));
  }

  /** Ends open tool calls and emits `finish`, with usage estimated if the vendor sent none. */
  finish(out: StreamEvent[]): void {
    for (const index of this.#calls.keys()) this.endToolCall(index, out);
    const toolCalls = this.toolCalls();
    let usage = this.#usage;
    if (usage === undefined) {
      let characters = this.text.length;
      for (const c of toolCalls) characters += c.arguments.length + c.name.length;
      usage = {
        inputTokens: estimateInput(this.#request),
        outputTokens: estimateTokens(characters),
        reported: false,
      };
    }
    const reason = this.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop');
    out.push({ type: 'finish', reason, usage, text: this.text, toolCalls });
  }
}
