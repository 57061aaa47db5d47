import type { KnowledgeBase, Passage } from '../knowledge/index.ts';

/**
 * The knowledge a spec's agents search: the caller's tenant's own documents and, when the spec
 * bundles `knowledge.documents`, those too (kept in the knowledge tenant `bundleTenant`), best
 * scores first. The bundle is the operator's, shared by every tenant's agents of that
 * definition; a tenant's own documents stay its own.
 */
export function withBundledDocuments(base: KnowledgeBase, bundleTenant: string | undefined): KnowledgeBase {
  if (bundleTenant === undefined) return base;
  const search = async (tenant: string, query: string, k: number): Promise<Passage[]> => {
    if (tenant === bundleTenant) return base.search(tenant, query, k);
    const [own, bundled] = await Promise.all([
      base.search(tenant, query, k),
      base.search(bundleTenant, query, k),
    ]);
    return [...own, ...bundled].sort((a, b) => b.score - a.score).slice(0, k);
  };
  // Only `search` differs; everything else is the base's own.
  return new Proxy(base, {
    get: (target, key) => (key === 'search' ? search : Reflect.get(target, key, target)),
  });
}
