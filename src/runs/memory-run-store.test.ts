import { runStoreContract } from '../testing/index.ts';
import { MemoryRunStore } from './memory-run-store.ts';

runStoreContract('memory', { open: async () => new MemoryRunStore() });
