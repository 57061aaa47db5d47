import { rolloutStoreContract } from '../testing/index.ts';
import { MemoryRolloutStore } from './index.ts';

rolloutStoreContract('memory', {
  open: async () => {
    const store = new MemoryRolloutStore();
    return [store, store];
  },
});
