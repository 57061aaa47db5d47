import { InvalidOptionsError } from '../errors/index.ts';

/** A page size: 1 to 1,000, default 100. @throws InvalidOptionsError otherwise. */
export function pageLimit(limit: number | undefined, fallback = 100): number {
  if (limit === undefined) return fallback;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1_000)
    throw new InvalidOptionsError(`limit must be an integer from 1 to 1,000; got ${limit}.`);
  return limit;
}

/** The store key of a tenant: `''` for no tenant (tenant ids never are empty). */
export function tenantKey(tenant: string | undefined): string {
  return tenant ?? '';
}
