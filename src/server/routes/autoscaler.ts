import type { Autoscaler } from '../../autoscale/index.ts';
import { sendJson } from '../http-errors.ts';
import type { Router } from '../router.ts';

/**
 * `GET /v1/autoscaler` (admin): every policy's state, current and desired size, last decision
 * and recent history (inputs, rule, from → to, or why it held). Without policies: none.
 */
export function addAutoscalerRoute(router: Router, autoscaler: Autoscaler | undefined): void {
  router.add(
    'GET',
    '/v1/autoscaler',
    (_req, res) =>
      sendJson(res, 200, { enabled: autoscaler !== undefined, policies: autoscaler?.status() ?? [] }),
    'admin',
  );
}
