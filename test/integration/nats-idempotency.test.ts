// The idempotency store contract suite against JetStream KV on a real NATS server.
import { after, before } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { type NatsTransport, natsTransport } from '../../src/bus/transports/nats.ts';
import { bucketName } from '../../src/bus/transports/nats-idempotency.ts';
import { idempotencyStoreContract } from '../../src/testing/index.ts';
import { NATS_URL, serverSkipReason } from './servers.ts';

const skip = await serverSkipReason('NATS', 4222);
const names = new Set<string>();
let one: NatsTransport;
let two: NatsTransport;
let turn = 0;

before(async () => {
  if (skip !== undefined) return;
  [one, two] = [await natsTransport({ servers: NATS_URL }), await natsTransport({ servers: NATS_URL })];
});

after(async () => {
  if (skip !== undefined) return;
  const jsm = await jetstreamManager(one.connection);
  for (const name of names) await jsm.streams.delete(`KV_${bucketName(name)}`).catch(() => false);
  await Promise.all([one.close(), two.close()]);
});

idempotencyStoreContract('nats kv', {
  skip,
  // Alternate connections, so "shared by name" means shared across nodes.
  open: (name, windowMs) =>
    ((turn++ % 2 === 0 ? one : two) as NatsTransport).idempotencyStore(name, windowMs),
  opened: (name) => names.add(name),
});
