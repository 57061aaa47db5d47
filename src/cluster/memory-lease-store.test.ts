import { leaseStoreContract } from '../testing/index.ts';
import { MemoryLeaseStore } from './index.ts';

leaseStoreContract('memory', {
  open: async (leaseMs, clients) => {
    const store = new MemoryLeaseStore({ leaseMs });
    return Array.from({ length: clients }, () => store);
  },
});
