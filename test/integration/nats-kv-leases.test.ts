// The lease store contract on JetStream KV (loopback NATS 4222): each case in a fresh bucket,
// each client on its own connection, as separate nodes would be; buckets deleted afterwards.

import assert from 'node:assert/strict';
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

it('bad replicas are INVALID_OPTIONS, before any connection', async () => {
  for (const replicas of [0, 6, 1.5])
    await rejectsWithCode(NatsKvLeaseStore.open({ servers: NATS_URL, replicas }), 'INVALID_OPTIONS');
});

it('never two holders: nodes race for 40 agents while one crashes, one leaves and one joins', async (t) => {
  if (skip !== undefined) return t.skip(skip);
  const { LeaseKeeper } = await import('../../src/cluster/index.ts');
  const bucket = `af-leases-${randomBytes(4).toString('hex')}`;
  buckets.push(bucket);
  const open = () => NatsKvLeaseStore.open({ servers: NATS_URL, bucket, leaseMs: 600 });
  const stores = [await open(), await open(), await open(), await open()];
  const keepers = stores.slice(0, 3).map((store, i) => new LeaseKeeper({ store, owner: `n${i}` }));
  const keys = Array.from({ length: 40 }, (_, i) => `agent.t.a${i}`);
  let violations = 0;
  let samples = 0;
  let running = true;
  const live = () => keepers.filter((k) => k !== undefined);
  const race = (async () => {
    while (running) {
      await Promise.all(live().flatMap((k) => keys.map((key) => k.take(key).catch(() => false))));
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const sampler = setInterval(() => {
    samples++;
    for (const key of keys) if (live().filter((k) => k.holds(key)).length > 1) violations++;
  }, 5);
  await new Promise((r) => setTimeout(r, 500));
  keepers[0]!.abandon(); // crashes: its keys come free after the lease time
  await new Promise((r) => setTimeout(r, 400));
  await keepers[1]!.close(); // leaves cleanly: its keys are free at once
  keepers.push(new LeaseKeeper({ store: stores[3]!, owner: 'n3' })); // joins
  await new Promise((r) => setTimeout(r, 1_500));
  running = false;
  await race;
  clearInterval(sampler);
  const held = keys.filter((key) => live().some((k) => k.holds(key)));
  assert.equal(violations, 0, `${violations} moments with two holders in ${samples} samples`);
  assert.equal(held.length, keys.length, 'every agent is held again after the crash and the leave');
  await Promise.all(keepers.slice(2).map((k) => k.close()));
  await Promise.all(stores.map((s) => s.close()));
});
