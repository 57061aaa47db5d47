import { randomBytes } from 'node:crypto';

/** Time-ordered ids (base36 ms since the epoch, then 12 random base64url characters), so ids sort by creation. */
function timeOrdered(prefix: string): string {
  return `${prefix}${Date.now().toString(36).padStart(9, '0')}${randomBytes(9).toString('base64url')}`;
}

/** A new run id, `run_…`. */
export function newRunId(): string {
  return timeOrdered('run_');
}

/** A new approval id, `apr_…`. */
export function newApprovalId(): string {
  return timeOrdered('apr_');
}
