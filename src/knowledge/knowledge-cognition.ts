import { currentTenantId } from '../context/index.ts';
import type { KnowledgeBase, Passage } from './knowledge-base.ts';

/** A knowledge agent's answer without a model: the best passages, cited. */
export interface KnowledgeAnswer {
  text: string;
  passages: Passage[];
}

/**
 * Cognition for `defineAgent` that answers from a knowledge base alone: the best passages
 * for the input, each cited as `[document#chunk]`. For when no model is configured (or as the
 * last step of a fallback).
 */
export function knowledgeCognition(options: {
  base: Pick<KnowledgeBase, 'search'>;
  k?: number;
  tenant?: string;
}) {
  return {
    async decide(input: string | { content: string }): Promise<KnowledgeAnswer> {
      const query = typeof input === 'string' ? input : input.content;
      const tenant = currentTenantId() ?? options.tenant ?? 'default';
      const passages = await options.base.search(tenant, query, options.k ?? 3);
      const text =
        passages.length === 0
          ? 'Nothing in the knowledge base matches that.'
          : passages.map((p) => `[${p.documentId}#${p.chunk}] ${p.text}`).join('\n\n');
      return { text, passages };
    },
  };
}
