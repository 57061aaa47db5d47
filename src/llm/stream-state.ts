import type { FinishReason, GenerateRequest, StreamEvent, ToolCall, Usage } from './types.ts';

interface PendingCall {
  id: string;
  name: string;
  arguments: string;
  /** `tool-call-start` was emitted: the name is taken as complete. */
  started: boolean;
  ended: boolean;
}

/**
 * A name piece joined to what came before: some vendors send a function name in pieces
 * (`get_`, `weather`), others repeat it whole in every chunk; a piece that starts with the name
 * so far is the whole name again.
 */
function joinName(sofar: string, piece: string): string {
  return piece.startsWith(sofar) ? piece : sofar + piece;
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
 * Assembles a streamed answer: text, tool calls whose names and arguments arrive in pieces
 * (arguments kept exactly as sent), usage (reported, or estimated at the end), and the finish
 * reason. Adapters turn vendor chunks into calls on it; it returns the normalised events to
 * emit. A call's `tool-call-start` waits for its first arguments (or its end, or the next
 * call), so the name it carries is whole.
 */
export class StreamState {
  text = '';
  readonly #calls = new Map<number, PendingCall>();
  #usage: Usage | undefined;
  finishReason: FinishReason | undefined;
  /** The model the vendor says answered (the first `model` it sent). */
  modelVersion: string | undefined;
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
      for (const [i, earlier] of this.#calls) this.#start(i, earlier, out);
      call = { id: id || `call_${index}`, name: name ?? '', arguments: '', started: false, ended: false };
      this.#calls.set(index, call);
    } else if (!call.started) {
      if (name !== undefined && name !== '') call.name = joinName(call.name, name);
      if (id !== undefined && id !== '' && call.id === `call_${index}`) call.id = id;
    }
    if (args !== '') {
      this.#start(index, call, out);
      call.arguments += args;
      out.push({ type: 'tool-call-delta', index, argumentsDelta: args });
    }
  }

  #start(index: number, call: PendingCall, out: StreamEvent[]): void {
    if (call.started) return;
    call.started = true;
    out.push({ type: 'tool-call-start', index, id: call.id, name: call.name });
  }

  endToolCall(index: number, out: StreamEvent[]): void {
    const call = this.#calls.get(index);
    if (call === undefined || call.ended) return;
    this.#start(index, call, out);
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
    out.push({
      type: 'finish',
      reason,
      usage,
      text: this.text,
      toolCalls,
      ...(this.modelVersion === undefined ? {} : { modelVersion: this.modelVersion }),
    });
  }
}
