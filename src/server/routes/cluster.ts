import { sendJson } from '../http-errors.ts';
import type { Router } from '../router.ts';

/** What `GET /v1/cluster` shows of a node's cluster (a `ClusterFleet`). */
export interface ClusterView {
  readonly nodeId: string;
  readonly members: readonly string[];
  readonly activeCount: number;
}

/** `GET /v1/cluster` (admin): this node's id, the live nodes as it last saw them, and how many agents are active here. */
export function addClusterRoute(router: Router, cluster: ClusterView): void {
  router.add(
    'GET',
    '/v1/cluster',
    (_req, res) =>
      sendJson(res, 200, {
        node: cluster.nodeId,
        members: [...cluster.members].sort(),
        active: cluster.activeCount,
      }),
    'admin',
  );
}
