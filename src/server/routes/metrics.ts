import type { Metrics } from '../../observability/index.ts';
import type { RouteAccess, Router } from '../router.ts';

/**
 * `GET /metrics`: the Prometheus exposition of `metrics`. Admin-only by default; pass
 * `'public'` to let Prometheus scrape without a key (or give Prometheus the admin key as
 * bearer credentials in its scrape config).
 */
export function addMetricsRoute(router: Router, metrics: Metrics, access: RouteAccess = 'admin'): void {
  router.add(
    'GET',
    '/metrics',
    async (_req, res) => {
      const body = await metrics.render();
      res.writeHead(200, [
        'content-type',
        metrics.contentType,
        'content-length',
        String(Buffer.byteLength(body)),
        'cache-control',
        'no-store',
      ]);
      res.end(body);
    },
    access,
  );
}
