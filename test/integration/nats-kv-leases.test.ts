// The lease store contract on JetStream KV (loopback NATS 4222): each case in a fresh bucket,
// each client on its own connection, as separate nodes would be; buckets deleted afterwards.
import { randomBytes } from 'node:crypto';
import { after, it } from 'node:test';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { NatsKvLeaseStore } from '../../src/cluster/nats-kv-lease-store.ts';
import { leaseStoreContract } from '../../src/testing/index.ts';
import { freePort, rejectsWithCode } from '../helpers.ts';
import { NATS_URL, serverSkipReason } from './servers.ts';

const skip = await serverSkipReason('NATS', 4222);
const buckets: string[] = [];

after(async () => {
  if (skip !== undefined) return;
  const nc = await connect({ servers: NATS_URL });
  const kvm = new Kvm(nc);
  for (const bucket of buckets) await (await kvm.open(bucket)).destroy().catch(() => undefined);
  await nc.close();
});

leaseStoreContract('nats kv', {
  skip,
  shortLeaseMs: 500,
  open: async (leaseMs, clients) => {
    const bucket = `af-leases-${randomBytes(4).toString('hex')}`;
    buckets.push(bucket);
    const stores: NatsKvLeaseStore[] = [];
    for (let i = 0; i < clients; i++)
      stores.push(await NatsKvLeaseStore.open({ servers: NATS_URL, bucket, leaseMs }));
    return stores;
  },
});

it('a lease bucket that cannot be reached is LEASE_STORE_UNAVAILABLE, at once', async () => {
  const port = await freePort();
  const started = Date.now();
  await rejectsWithCode(
    NatsKvLeaseStore.open({ servers: `127.0.0.1:${port}`, timeoutMs: 500 }),
    'LEASE_STORE_UNAVAILABLE',
  );
  if (Date.now() - started > 5_000) throw new Error('took too long to fail');
});
