import { z } from 'zod';
import { currentTenantId } from '../context/index.ts';
import { InvalidOptionsError } from '../errors/index.ts';
import { defineTool, type Tool } from './define.ts';

/** A passage as a knowledge source returns it (the shape of `Passage` in src/knowledge). */
export interface SearchPassage {
  documentId: string;
  /** 0-based chunk number in the document. */
  chunk: number;
  text: string;
  score: number;
}

/** What `knowledgeSearchTool` searches: a `KnowledgeBase`, or anything with its `search`. */
export interface SearchableKnowledge {
  search(tenant: string, query: string, k: number): Promise<readonly SearchPassage[]>;
}

export interface KnowledgeSearchToolOptions {
  /** Default `search_knowledge`. */
  name?: string;
  description?: string;
  /** Passages when the model does not say. Default 4. */
  k?: number;
  /** The most passages the model may ask for. Default 10. */
  maxK?: number;
  /** The tenant searched when a call runs outside any tenant. Default `default` (as the LLM loop). */
  tenant?: string;
  timeoutMs?: number;
}

/** What a search returns to the model: passages with the id to cite each by. */
export interface KnowledgeSearchResult {
  passages: { id: string; documentId: string; chunk: number; text: string; score: number }[];
}

/**
 * A tool the model calls to search a knowledge source, in the tenant of the current call
 * (`currentTenantId()`): one tenant's agents never see another's documents. Each passage
 * comes with an `id` (`document#chunk`, as the LLM loop's citations) for the model to cite.
 * @throws InvalidOptionsError for a source without `search`, or bad `k`/`maxK`.
 */
export function knowledgeSearchTool(
  source: SearchableKnowledge,
  options: KnowledgeSearchToolOptions = {},
): Tool<z.ZodType, KnowledgeSearchResult> {
  if (typeof source?.search !== 'function') {
    throw new InvalidOptionsError('knowledgeSearchTool needs a source with search(tenant, query, k).');
  }
  const maxK = options.maxK ?? 10;
  const k = options.k ?? Math.min(4, maxK);
  if (!Number.isInteger(maxK) || maxK < 1 || !Number.isInteger(k) || k < 1 || k > maxK) {
    throw new InvalidOptionsError('knowledgeSearchTool: k and maxK must be integers with 1 <= k <= maxK.');
  }
  const fallbackTenant = options.tenant ?? 'default';
  return defineTool({
    name: options.name ?? 'search_knowledge',
    description:
      options.description ??
      'Searches the knowledge base and returns the passages most relevant to the query. Cite a passage by its id, as [id].',
    parameters: z.object({
      query: z.string().min(1).describe('What to look for, in natural language'),
      k: z.number().int().min(1).max(maxK).optional().describe(`How many passages (default ${k})`),
    }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    execute: async ({ query, k: asked }) => {
      const found = await source.search(currentTenantId() ?? fallbackTenant, query, asked ?? k);
      return {
        passages: found.map((p) => ({
          id: `${p.documentId}#${p.chunk}`,
          documentId: p.documentId,
          chunk: p.chunk,
          text: p.text,
          score: p.score,
        })),
      };
    },
  });
}
