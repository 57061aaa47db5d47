import { transportContract } from '../../testing/index.ts';
import { MemoryHub, memoryTransport } from './memory.ts';

const hub = new MemoryHub();
transportContract('memory', { wire: false, connect: async () => memoryTransport(hub) });
