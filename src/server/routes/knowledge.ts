import { z } from 'zod';
import { requireTenant } from '../../context/index.ts';
import type { KnowledgeBase } from '../../knowledge/index.ts';
import { HttpError, sendJson } from '../http-errors.ts';
import { parseRequest } from '../parse-request.ts';
import { readJsonBody } from '../read-json-body.ts';
import type { Router } from '../router.ts';

const documentBody = z.strictObject({
  id: z.string().min(1).max(256),
  text: z.string(),
  metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});
const searchBody = z
  .strictObject({
    query: z.string().optional(),
    /** A vector embedded by the caller with the knowledge base's embedder. */
    vector: z.array(z.number()).max(65_536).optional(),
    k: z.number().int().min(1).max(100).default(5),
  })
  .refine(
    (b) => (b.query === undefined) !== (b.vector === undefined),
    'give exactly one of query and vector',
  );

/** Ingest, delete and search documents, always in the caller's tenant. */
export function addKnowledgeRoutes(router: Router, kb: KnowledgeBase, bodyLimitBytes: number): void {
  router.add('POST', '/v1/knowledge/documents', async (req, res) => {
    const tenant = requireTenant('Knowledge').id;
    const body = parseRequest(documentBody, await readJsonBody(req, bodyLimitBytes), 'body');
    const { chunks } = await kb.upsert({ tenant, id: body.id, text: body.text, metadata: body.metadata });
    sendJson(res, 200, { id: body.id, chunks });
  });
  router.add('DELETE', '/v1/knowledge/documents/:id', async (_req, res, { params }) => {
    const tenant = requireTenant('Knowledge').id;
    if (!(await kb.delete(tenant, params.id!)))
      throw new HttpError('DOCUMENT_NOT_FOUND', `No document "${params.id}".`);
    sendJson(res, 200, { deleted: params.id });
  });
  router.add('POST', '/v1/knowledge/search', async (req, res) => {
    const tenant = requireTenant('Knowledge').id;
    const body = parseRequest(searchBody, await readJsonBody(req, bodyLimitBytes), 'body');
    const passages =
      body.vector === undefined
        ? await kb.search(tenant, body.query!, body.k)
        : kb.searchVector(tenant, Float32Array.from(body.vector), body.k);
    sendJson(res, 200, { passages });
  });
}
