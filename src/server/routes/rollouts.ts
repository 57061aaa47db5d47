import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { currentTenantId } from '../../context/index.ts';
import { formatIssues } from '../../errors/index.ts';
import { RolloutError, type RolloutManager } from '../../rollout/index.ts';
import { sendJson } from '../http-errors.ts';
import { readJsonBody } from '../read-json-body.ts';
import type { Router } from '../router.ts';

/** What the rollout routes need: the node's rollouts, and how a version is kept for one (`{ spec }`). */
export interface RolloutRoutesOptions {
  manager: RolloutManager;
  /** The scope of a request: its tenant, or the node's own definitions for the admin (and with no auth). */
  scopeOf(tenant: string | undefined): string;
  /** Keeps a version of `name` in `scope` from a spec (not made current), for a rollout to move to. */
  stage(scope: string, name: string, spec: string, format: 'json' | 'yaml'): Promise<{ version: string }>;
  /** The full version (`label@id`) a reference (id, label or `label@id`) names in `scope`, if kept. */
  resolve(scope: string, name: string, ref: string): string | undefined;
  /** Catches up with the cluster's definitions before a rollout reads them. */
  sync?(): Promise<void>;
}

const startSchema = z
  .object({
    /** The version to move to: an id, `label@id` or a label. */
    to: z.string().min(1).max(200).optional(),
    /** Or a spec (JSON object, or YAML text) kept as a new version first. */
    spec: z.union([z.record(z.string(), z.unknown()), z.string().min(1)]).optional(),
  })
  .loose();

async function startBody(req: IncomingMessage, limit: number): Promise<z.output<typeof startSchema>> {
  const parsed = startSchema.safeParse((await readJsonBody(req, limit)) ?? {});
  if (!parsed.success)
    throw new RolloutError('ROLLOUT_INVALID', `Invalid rollout: ${formatIssues(parsed.error).join('; ')}`);
  if ((parsed.data.to === undefined) === (parsed.data.spec === undefined))
    throw new RolloutError(
      'ROLLOUT_INVALID',
      'Invalid rollout: give either "to" (a kept version) or "spec".',
    );
  return parsed.data;
}

/**
 * Canary rollouts of a definition: `POST /v1/definitions/:name/rollout` starts one (`{ to }`, a
 * kept version, or `{ spec }`, kept first; plus the plan: `steps`, `holdMs`, `gates`, `checks`),
 * `GET` shows it (step, both versions' figures, decision history), and `POST …/rollout/pause`,
 * `/resume`, `/promote`, `/abort` drive it. A tenant's key moves the tenant's own definitions;
 * the admin key the node's (its agents folder).
 */
export function addRolloutRoutes(
  router: Router,
  options: RolloutRoutesOptions,
  bodyLimitBytes: number,
): void {
  const { manager } = options;
  const scope = () => options.scopeOf(currentTenantId());
  router.add('POST', '/v1/definitions/:name/rollout', async (req, res, { params }) => {
    const name = params.name!;
    const { to, spec, ...plan } = await startBody(req, bodyLimitBytes);
    const where = scope();
    let target = to ?? '';
    if (spec !== undefined) {
      const text = typeof spec === 'string' ? spec : JSON.stringify(spec);
      target = (await options.stage(where, name, text, typeof spec === 'string' ? 'yaml' : 'json')).version;
    }
    await options.sync?.();
    await manager.start(where, name, { ...plan, to: options.resolve(where, name, target) ?? target });
    sendJson(res, 201, await manager.status(where, name));
  });
  router.add('GET', '/v1/definitions/:name/rollout', async (_req, res, { params }) => {
    sendJson(res, 200, await manager.status(scope(), params.name!));
  });
  for (const action of ['pause', 'resume', 'promote', 'abort'] as const) {
    router.add('POST', `/v1/definitions/:name/rollout/${action}`, async (req, res, { params }) => {
      req.resume();
      await manager[action](scope(), params.name!);
      sendJson(res, 200, await manager.status(scope(), params.name!));
    });
  }
}
