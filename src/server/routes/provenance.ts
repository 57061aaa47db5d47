import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { currentTenantId } from '../../context/index.ts';
import {
  NO_TENANT,
  type ParsedProvenanceQuery,
  type ProvenanceStore,
  provenanceQuerySchema,
} from '../../provenance/index.ts';
import { sendJson } from '../http-errors.ts';
import { parseRequest } from '../parse-request.ts';
import type { Router } from '../router.ts';

const listQuery = provenanceQuerySchema.extend({ format: z.enum(['json', 'jsonl']).default('json') });
const exportQuery = provenanceQuerySchema.omit({ limit: true });

/**
 * Provenance over HTTP, in the caller's tenant only (an admin picks one with
 * `X-Agentfleet-Tenant`): `GET /v1/provenance` pages of records (`next` is the `after` of the
 * next page, `format=jsonl` for JSON lines), `GET /v1/provenance/export` every matching record
 * as streamed JSON lines.
 */
export function addProvenanceRoutes(router: Router, store: ProvenanceStore): void {
  router.add('GET', '/v1/provenance', async (_req, res, { query }) => {
    const { format, ...q } = parseRequest(listQuery, Object.fromEntries(query), 'query');
    const page = await store.query(currentTenantId() ?? NO_TENANT, q);
    if (format === 'json') {
      sendJson(res, 200, { records: page.records, next: page.next ?? null });
      return;
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8' });
    res.end(page.records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  });

  router.add('GET', '/v1/provenance/export', async (req, res, { query }) => {
    const q = parseRequest(exportQuery, Object.fromEntries(query), 'query');
    const tenant = currentTenantId() ?? NO_TENANT;
    // The first page is read before the headers, so a bad row is still a typed error.
    let page = await store.query(tenant, { ...q, limit: 1000 });
    res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8' });
    const closed = new AbortController();
    req.once('close', () => closed.abort());
    while (true) {
      await write(res, page.records.map((r) => `${JSON.stringify(r)}\n`).join(''), closed.signal);
      if (page.next === undefined || closed.signal.aborted) break;
      page = await store.query(tenant, { ...q, limit: 1000, after: page.next } as ParsedProvenanceQuery);
    }
    res.end();
  });
}

/** Writes a chunk, waiting for the socket to drain when its buffer is full. */
async function write(res: ServerResponse, chunk: string, signal: AbortSignal): Promise<void> {
  if (chunk === '' || res.write(chunk)) return;
  await once(res, 'drain', { signal }).catch(() => {});
}
