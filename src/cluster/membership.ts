import { NodeIdTakenError } from './errors.ts';
import { LeaseKeeper } from './lease-keeper.ts';
import type { LeaseStore } from './lease-store.ts';

const PREFIX = 'node.';

/**
 * The cluster's live nodes: each node holds the lease `node.<id>` (its heartbeat, renewed by its
 * `LeaseKeeper`), so a node that dies drops out within the lease time, and one that leaves
 * cleanly at once.
 */
export class Membership {
  readonly nodeId: string;
  readonly keeper: LeaseKeeper;
  readonly #store: LeaseStore;

  private constructor(store: LeaseStore, keeper: LeaseKeeper, nodeId: string) {
    this.#store = store;
    this.keeper = keeper;
    this.nodeId = nodeId;
  }

  /**
   * Joins: takes this node's heartbeat lease. @throws NodeIdTakenError when a live node has the same id.
   */
  static async join(store: LeaseStore, nodeId: string, keeper?: LeaseKeeper): Promise<Membership> {
    const k = keeper ?? new LeaseKeeper({ store, owner: nodeId });
    if (!(await k.take(`${PREFIX}${nodeId}`))) {
      if (keeper === undefined) await k.close();
      throw new NodeIdTakenError(nodeId);
    }
    return new Membership(store, k, nodeId);
  }

  /** The live nodes' ids, sorted. */
  async members(): Promise<string[]> {
    const held = await this.#store.list(PREFIX);
    return [...held.keys()].map((key) => key.slice(PREFIX.length)).sort();
  }

  /** Leaves: releases the heartbeat (and every other lease of this node's keeper). */
  async leave(): Promise<void> {
    await this.keeper.close();
  }
}
