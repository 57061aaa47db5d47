import { currentTenantId } from '../context/index.ts';
import type { Message } from '../llm/index.ts';
import type { RunStore } from '../runs/index.ts';
import {
  type ConversationHistory,
  type ConversationMemoryOptions,
  summaryMessage,
  trimConversation,
} from './memory.ts';

/**
 * Conversations kept in a run store (the node's SQLite file by default): bounded per agent
 * like `ConversationMemory`, but never forgotten because other agents were busier, and still
 * there after a restart. Two messages of one agent handled at once (`concurrency` > 1) may
 * each append to the history as it was when they began: the later write wins.
 */
export class StoredConversationMemory implements ConversationHistory {
  readonly #store: RunStore;
  readonly #maxMessages: number;
  readonly #summarize: ConversationMemoryOptions['summarize'];

  constructor(store: RunStore, options: ConversationMemoryOptions = {}) {
    this.#store = store;
    this.#maxMessages = options.maxMessages ?? 50;
    this.#summarize = options.summarize;
  }

  async history(agentId: string): Promise<Message[]> {
    const c = await this.#store.getConversation(currentTenantId(), agentId);
    if (c === undefined) return [];
    return c.summary === undefined ? c.messages : [summaryMessage(c.summary), ...c.messages];
  }

  async append(agentId: string, turn: Message[], signal: AbortSignal): Promise<void> {
    if (this.#maxMessages === 0) return;
    const tenant = currentTenantId();
    const c = (await this.#store.getConversation(tenant, agentId)) ?? { messages: [] };
    c.messages.push(...turn);
    const dropped = trimConversation(c.messages, this.#maxMessages);
    let summary = c.summary;
    if (this.#summarize !== undefined && dropped.length > 0)
      summary = await this.#summarize(dropped, summary, signal);
    await this.#store.putConversation(tenant, agentId, {
      ...(summary === undefined ? {} : { summary }),
      messages: c.messages,
    });
  }

  forget(agentId: string): Promise<boolean> {
    return this.#store.deleteConversation(currentTenantId(), agentId);
  }
}
