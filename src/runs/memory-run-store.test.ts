import { runStoreContract } from '../testing/run-store.contract.ts';
import { MemoryRunStore } from './memory-run-store.ts';

runStoreContract('memory', { open: async () => new MemoryRunStore() });
