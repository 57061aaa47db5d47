import { z } from 'zod';
import type { TokenBudgetGate } from '../../budgets/index.ts';
import type { Runtime } from '../../core/index.ts';
import {
  ApiKeyNotFoundError,
  type Authenticator,
  issueApiKey,
  type TenantDeletion,
  TenantNotFoundError,
  type TenantQuotaGate,
  type TenantQuotas,
} from '../../tenancy/index.ts';
import { sendJson } from '../http-errors.ts';
import { parseRequest } from '../parse-request.ts';
import { readJsonBody } from '../read-json-body.ts';
import type { Router } from '../router.ts';

const keyBody = z
  .strictObject({ name: z.string().min(1).max(200).default('default') })
  .default({ name: 'default' });
const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
  offset: z.coerce.number().int().min(0).default(0),
});

/** Key records as the API shows them: never the hash. */
const publicKey = (k: {
  id: string;
  tenantId: string;
  name: string;
  createdAt: number;
  revokedAt: number | null;
}) => ({
  id: k.id,
  tenantId: k.tenantId,
  name: k.name,
  createdAt: k.createdAt,
  revokedAt: k.revokedAt,
});

/** Admin-only tenant management: tenants, their quotas and API keys. */
export function addTenantRoutes(
  router: Router,
  runtime: Runtime,
  auth: Authenticator,
  quotas: TenantQuotaGate | undefined,
  bodyLimitBytes: number,
  deletion: TenantDeletion,
  budgets?: Pick<TokenBudgetGate, 'spendOf'>,
): void {
  const registry = auth.registry;
  const refresh = (id: string, q: TenantQuotas | undefined) => {
    quotas?.setQuotas(id, q);
    auth.invalidateTenant(id);
  };

  router.add(
    'POST',
    '/v1/tenants',
    async (req, res) => {
      const body = await readJsonBody(req, bodyLimitBytes);
      const tenant = await registry.createTenant(body as never);
      refresh(tenant.id, tenant.quotas);
      const issued = await issueApiKey(registry, tenant.id);
      sendJson(res, 201, { tenant, key: issued.key, keyRecord: publicKey(issued.record) }, [
        'location',
        `/v1/tenants/${tenant.id}`,
      ]);
    },
    'admin',
  );

  router.add(
    'GET',
    '/v1/tenants',
    async (_req, res, { query }) => {
      const page = parseRequest(listQuery, Object.fromEntries(query), 'query');
      sendJson(res, 200, { tenants: await registry.listTenants(page) });
    },
    'admin',
  );

  router.add(
    'GET',
    '/v1/tenants/:tenant',
    async (_req, res, { params }) => {
      const tenant = await registry.getTenant(params.tenant!);
      if (tenant === undefined) throw new TenantNotFoundError(params.tenant!);
      const spend = budgets?.spendOf(tenant.id);
      sendJson(res, 200, {
        tenant,
        usage: runtime.tenantUsage(tenant.id),
        ...(spend === undefined ? {} : { spend }),
      });
    },
    'admin',
  );

  router.add(
    'PATCH',
    '/v1/tenants/:tenant',
    async (req, res, { params }) => {
      const body = await readJsonBody(req, bodyLimitBytes);
      const tenant = await registry.updateTenant(params.tenant!, body as never);
      refresh(tenant.id, tenant.quotas);
      sendJson(res, 200, { tenant });
    },
    'admin',
  );

  router.add(
    'DELETE',
    '/v1/tenants/:tenant',
    async (_req, res, { params }) => {
      const id = params.tenant!;
      const { purged } = await deletion.delete(id);
      refresh(id, undefined);
      const removed = (purged.agents as { agents?: number } | undefined)?.agents ?? 0;
      sendJson(res, 200, { deleted: id, agentsRemoved: removed, purged });
    },
    'admin',
  );

  router.add(
    'POST',
    '/v1/tenants/:tenant/keys',
    async (req, res, { params }) => {
      const body = parseRequest(keyBody, await readJsonBody(req, bodyLimitBytes), 'body');
      const issued = await issueApiKey(registry, params.tenant!, body.name);
      sendJson(res, 201, { key: issued.key, keyRecord: publicKey(issued.record) });
    },
    'admin',
  );

  router.add(
    'GET',
    '/v1/tenants/:tenant/keys',
    async (_req, res, { params }) => {
      if ((await registry.getTenant(params.tenant!)) === undefined)
        throw new TenantNotFoundError(params.tenant!);
      sendJson(res, 200, { keys: (await registry.listKeys(params.tenant!)).map(publicKey) });
    },
    'admin',
  );

  router.add(
    'DELETE',
    '/v1/tenants/:tenant/keys/:key',
    async (_req, res, { params }) => {
      if (!(await registry.revokeKey(params.tenant!, params.key!)))
        throw new ApiKeyNotFoundError(params.key!);
      auth.invalidate(params.key!);
      sendJson(res, 200, { revoked: params.key });
    },
    'admin',
  );
}
