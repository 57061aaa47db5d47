import { z } from 'zod';
import { CrdtError, invalidOp } from './errors.ts';

/** A replica's node id: 1–64 topic-token characters (letters, digits, `_ - : @`), so it can name a bus topic. */
export const NODE_ID_PATTERN = /^[A-Za-z0-9_\-:@]{1,64}$/;

/** `__proto__` is token-safe but cannot be an own key of a plain object, so it is refused. */
const isNodeId = (value: string) => NODE_ID_PATTERN.test(value) && value !== '__proto__';

/** The zod schema of a node id inside states and deltas. */
export const nodeIdSchema = z.string().refine(isNodeId, 'not a node id (1–64 of A-Z a-z 0-9 _ - : @)');

/** Returns `node` if it is a valid node id; throws `CRDT_NODE_ID_INVALID` otherwise. */
export function assertNodeId(node: unknown): string {
  if (typeof node === 'string' && isNodeId(node)) return node;
  throw new CrdtError(
    'CRDT_NODE_ID_INVALID',
    `Node id ${JSON.stringify(String(node)).slice(0, 80)} is not 1–64 of A-Z a-z 0-9 _ - : @.`,
    { details: { node: String(node).slice(0, 80) } },
  );
}

/** A non-negative safe integer, the unit of every counter and dot. */
export const countSchema = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** The node a local operation runs as; throws `CRDT_OP_INVALID` on a replica parsed without a node id. */
export function ownerOf(type: string, node: string | undefined): string {
  if (node !== undefined) return node;
  throw invalidOp(
    type,
    'this replica has no node id (pass one to from()), so it can merge but not make local changes',
  );
}
