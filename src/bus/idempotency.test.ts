import assert from 'node:assert/strict';
import { it } from 'node:test';
import { idempotencyStoreContract } from '../testing/index.ts';
import { MemoryIdempotencyStore } from './idempotency.ts';
import { MemoryHub, MemoryTransport } from './index.ts';

const transport = new MemoryTransport(new MemoryHub());
idempotencyStoreContract('memory', { open: (name, windowMs) => transport.idempotencyStore(name, windowMs) });

it('a memory store holds at most maxIds ids, forgetting the oldest first', async () => {
  const store = new MemoryIdempotencyStore(60_000, new Map(), 1_000);
  for (let i = 0; i < 5_000; i++) await store.add(`id-${i}`);
  assert.equal(store.size, 1_000);
  assert.equal(await store.has('id-0'), false, 'the oldest went first');
  assert.equal(await store.has('id-4999'), true);
  assert.equal(await store.has('id-4000'), true);
  await store.close();
});
