import { definitionStoreContract } from '../testing/index.ts';
import { MemoryDefinitionStore } from './index.ts';

definitionStoreContract('memory', {
  open: async () => {
    const store = new MemoryDefinitionStore();
    return [store, store];
  },
  putRaw: async (store, key, value) => void (store as MemoryDefinitionStore).putRaw(key, value),
});
