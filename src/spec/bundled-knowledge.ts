import type { KnowledgeBase, Passage } from '../knowledge/index.ts';

/** The one knowledge tenant of a bundle store: it holds only specs' bundled documents. */
export const BUNDLE_TENANT = 'bundle';

/** What a spec's agents search: `search(tenant, query, k)`, as a `KnowledgeBase` does. */
export type KnowledgeSearch = Pick<KnowledgeBase, 'search'>;

/**
 * The knowledge a spec's agents search: the caller's tenant's own documents and, when the spec
 * bundles `knowledge.documents`, those too, best scores first. The bundle lives in its own
 * store (`bundles`), which no tenant's API reaches, so a tenant can neither read it directly
 * nor change it, and deleting any tenant leaves it in place.
 */
export function withBundledDocuments(
  base: KnowledgeBase,
  bundles: KnowledgeBase | undefined,
): KnowledgeSearch {
  if (bundles === undefined) return base;
  return {
    async search(tenant: string, query: string, k: number): Promise<Passage[]> {
      const [own, bundled] = await Promise.all([
        base.search(tenant, query, k),
        bundles.search(BUNDLE_TENANT, query, k),
      ]);
      return [...own, ...bundled].sort((a, b) => b.score - a.score).slice(0, k);
    },
  };
}
