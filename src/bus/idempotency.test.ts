import { idempotencyStoreContract } from './idempotency.contract.ts';
import { MemoryHub, MemoryTransport } from './index.ts';

const transport = new MemoryTransport(new MemoryHub());
idempotencyStoreContract('memory', { open: (name, windowMs) => transport.idempotencyStore(name, windowMs) });
