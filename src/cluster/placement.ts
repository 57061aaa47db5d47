import { createHash } from 'node:crypto';

/**
 * Which node an agent belongs on: rendezvous (highest random weight) hashing of the agent's key
 * over the live nodes. Every node computes the same answer from the same member list; a node
 * that joins takes about 1/N of the agents, and one that leaves gives away only its own.
 * Undefined when there are no nodes.
 */
export function placeAgent(key: string, nodes: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight = -1n;
  for (const node of nodes) {
    const weight = createHash('sha256').update(node).update('\0').update(key).digest().readBigUInt64BE(0);
    if (weight > bestWeight || (weight === bestWeight && best !== undefined && node < best)) {
      best = node;
      bestWeight = weight;
    }
  }
  return best;
}
