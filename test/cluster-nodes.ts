// Clustered nodes in one process: one in-memory bus, agent directory and lease store, each
// node made by `createNode` with `echo` registered. For tests of what a cluster shares.
import { type Bus, createBus, MemoryHub, MemoryTransport } from '../src/bus/index.ts';
import { MemoryAgentDirectory, MemoryLeaseStore } from '../src/cluster/index.ts';
import type { ServerConfigInput } from '../src/config/index.ts';
import { defineAgent } from '../src/core/index.ts';
import { type AgentfleetNode, createNode, type NodeParts } from '../src/node/index.ts';

export const echo = defineAgent({ name: 'echo', decide: (x: unknown) => x });

export interface ClusterNodes {
  nodes: AgentfleetNode[];
  bus: Bus;
  /** Closes the nodes, then the bus. */
  close(): Promise<void>;
}

/**
 * `count` nodes (`node-a`, `node-b`, …) of one cluster, with `config` on top of silent, no-auth
 * defaults, and `definitions` beside `echo`.
 */
export async function clusterNodes(
  count: number,
  config: ServerConfigInput = {},
  definitions: NodeParts['definitions'] = [],
): Promise<ClusterNodes> {
  const bus = createBus({ transport: new MemoryTransport(new MemoryHub()) });
  const cluster = { directory: new MemoryAgentDirectory(), leases: new MemoryLeaseStore({ leaseMs: 2_000 }) };
  const nodes: AgentfleetNode[] = [];
  const close = async () => {
    for (const node of nodes) await node.close();
    await bus.close();
  };
  try {
    for (let i = 0; i < count; i++) {
      const nodeId = `node-${String.fromCharCode(97 + i)}`;
      nodes.push(
        await createNode(
          { logLevel: 'silent', auth: 'none', busFrontDoor: false, nodeId, ...config },
          { definitions: [echo, ...(definitions ?? [])], bus, cluster },
        ),
      );
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { nodes, bus, close };
}
