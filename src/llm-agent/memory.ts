import { currentTenantId } from '../context/index.ts';
import type { Message } from '../llm/index.ts';

/** Conversations are per tenant: two tenants' agents of the same id never share one. */
function keyOf(agentId: string): string {
  const tenant = currentTenantId();
  return tenant === undefined ? agentId : `${tenant}/${agentId}`;
}

/** How much conversation an agent keeps between messages. */
export interface ConversationMemoryOptions {
  /** Messages kept per agent (system prompt not counted). Default 50. */
  maxMessages?: number;
  /** Agents whose conversations are kept; the least recently used is forgotten first. Default 10,000. */
  maxConversations?: number;
  /** Condenses messages about to be dropped into a summary kept at the start of the history. */
  summarize?: (
    dropped: Message[],
    previousSummary: string | undefined,
    signal: AbortSignal,
  ) => Promise<string>;
}

interface Conversation {
  summary: string | undefined;
  messages: Message[];
}

/** Where an LLM cognition keeps conversations: in this process (`ConversationMemory`) or in a run store. */
export interface ConversationHistory {
  /** The history to put before a new message. */
  history(agentId: string): Message[] | Promise<Message[]>;
  /** Appends a finished turn, keeping the history bounded. */
  append(agentId: string, turn: Message[], signal: AbortSignal): Promise<void>;
  /** Forgets the agent's conversation. */
  forget(agentId: string): unknown;
}

/** Drops the oldest turns past `maxMessages`, never splitting a tool call from its results; returns them. */
export function trimConversation(messages: Message[], maxMessages: number): Message[] {
  if (messages.length <= maxMessages) return [];
  let cut = messages.length - maxMessages;
  while (cut < messages.length && messages[cut]?.role !== 'user') cut++;
  return messages.splice(0, cut);
}

/** The summary of dropped turns as the system message that opens a history. */
export function summaryMessage(summary: string): Message {
  return { role: 'system', content: `Summary of the earlier conversation: ${summary}` };
}

/**
 * Bounded per-agent conversation histories (LRU over agents, oldest turns dropped or
 * summarised), kept apart per tenant: the agent id is looked up in the current tenant.
 */
export class ConversationMemory implements ConversationHistory {
  readonly #byAgent = new Map<string, Conversation>();
  readonly #maxMessages: number;
  readonly #maxConversations: number;
  readonly #summarize: ConversationMemoryOptions['summarize'];

  constructor(options: ConversationMemoryOptions = {}) {
    this.#maxMessages = options.maxMessages ?? 50;
    this.#maxConversations = options.maxConversations ?? 10_000;
    this.#summarize = options.summarize;
  }

  /** The history to put before a new message: the summary (as a system message) and the kept turns. */
  history(agentId: string): Message[] {
    const key = keyOf(agentId);
    const c = this.#byAgent.get(key);
    if (c === undefined) return [];
    this.#byAgent.delete(key); // refresh its place in the LRU order
    this.#byAgent.set(key, c);
    return c.summary === undefined ? c.messages : [summaryMessage(c.summary), ...c.messages];
  }

  /** Appends a finished turn, then trims to the bound without splitting a tool call from its results. */
  async append(agentId: string, turn: Message[], signal: AbortSignal): Promise<void> {
    if (this.#maxMessages === 0) return;
    const key = keyOf(agentId);
    let c = this.#byAgent.get(key);
    if (c === undefined) {
      c = { summary: undefined, messages: [] };
      this.#byAgent.set(key, c);
      if (this.#byAgent.size > this.#maxConversations) {
        this.#byAgent.delete(this.#byAgent.keys().next().value as string);
      }
    }
    c.messages.push(...turn);
    const dropped = trimConversation(c.messages, this.#maxMessages);
    if (this.#summarize !== undefined && dropped.length > 0) {
      c.summary = await this.#summarize(dropped, c.summary, signal);
    }
  }

  forget(agentId: string): void {
    this.#byAgent.delete(keyOf(agentId));
  }

  /** Drops every conversation of the tenant's agents (tenant deletion); returns how many. */
  purgeTenant(tenantId: string): number {
    const prefix = `${tenantId}/`;
    let dropped = 0;
    for (const key of this.#byAgent.keys()) {
      if (key.startsWith(prefix)) {
        this.#byAgent.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  get size(): number {
    return this.#byAgent.size;
  }
}
