// The rollout store contract on JetStream KV (loopback NATS 4222): each case in a fresh bucket,
// each handle on its own connection, as separate nodes would be; buckets deleted afterwards.

import assert from 'node:assert/strict';
import { it } from 'node:test';
import { NatsKvLeaseStore, NatsKvRolloutStore } from '../../src/nats.ts';
import { RolloutManager, type RolloutSplit, type RolloutTarget } from '../../src/rollout/index.ts';
import { rolloutStoreContract } from '../../src/testing/index.ts';
import { eventually, freePort, rejectsWithCode } from '../helpers.ts';
import { kvTestBuckets } from './kv-test-buckets.ts';
import { NATS_URL } from './servers.ts';

const kv = await kvTestBuckets('af-rollouts');
const { skip } = kv;

rolloutStoreContract('nats kv', {
  skip,
  open: async () => {
    const bucket = kv.bucket();
    return [
      await NatsKvRolloutStore.open({ servers: NATS_URL, bucket }),
      await NatsKvRolloutStore.open({ servers: NATS_URL, bucket }),
    ];
  },
  putRaw: (store, key, value) => kv.putRaw((store as NatsKvRolloutStore).bucket, key, value),
});

it('a rollout store that cannot be reached is ROLLOUT_STORE_UNAVAILABLE', async () => {
  const port = await freePort();
  await rejectsWithCode(
    NatsKvRolloutStore.open({ servers: `127.0.0.1:${port}`, timeoutMs: 500 }),
    'ROLLOUT_STORE_UNAVAILABLE',
  );
});

it('refuses bad options with INVALID_OPTIONS', async () => {
  await rejectsWithCode(NatsKvRolloutStore.open({ servers: NATS_URL, bucket: 'a.b' }), 'INVALID_OPTIONS');
  await rejectsWithCode(NatsKvRolloutStore.open({}), 'INVALID_OPTIONS');
});

it('two managers on NATS KV with leases: one decides, the other applies the record through its watch', {
  skip,
}, async (t) => {
  const bucket = kv.bucket();
  const leaseBucket = kv.bucket();
  const routers = [new Map<string, RolloutSplit | undefined>(), new Map<string, RolloutSplit | undefined>()];
  const managers: RolloutManager[] = [];
  const decided: string[] = [];
  for (const [i, node] of ['n1', 'n2'].entries()) {
    const store = await NatsKvRolloutStore.open({ servers: NATS_URL, bucket });
    const leases = await NatsKvLeaseStore.open({ servers: NATS_URL, bucket: leaseBucket, leaseMs: 30_000 });
    const target: RolloutTarget = {
      hasVersion: (_t, _d, v) => v === 'A' || v === 'B',
      currentVersion: () => 'A',
      setSplit: (_t, d, split) => void routers[i]!.set(d, split),
      promote: () => undefined,
    };
    const manager = await RolloutManager.open({
      store,
      leases,
      node,
      target,
      tickMs: 3_600_000, // rounds by hand
      onDecision: (_r, d) => decided.push(`${d.node} ${d.decision}`),
    });
    managers.push(manager);
    t.after(async () => {
      await manager.close();
      await store.close();
      await leases.close();
    });
  }
  const [one, two] = managers as [RolloutManager, RolloutManager];
  await one.start('acme', 'helper', { to: 'B', holdMs: 100_000 });
  await eventually(() => routers[1]!.get('helper')?.percent === 5, 5_000);
  await rejectsWithCode(two.start('acme', 'helper', { to: 'B' }), 'ROLLOUT_EXISTS');
  await one.tick(); // n1 takes the lease
  for (let i = 0; i < 100; i++) two.observe('acme', 'helper', 'A', 50, true);
  for (let i = 0; i < 30; i++) two.observe('acme', 'helper', 'B', 50, false);
  await two.tick(); // n2 flushes its stats; it does not decide
  assert.equal((await two.status('acme', 'helper')).status, 'running');
  await one.tick();
  const status = await two.status('acme', 'helper');
  assert.equal(status.status, 'rolled-back');
  assert.equal(status.history.at(-1)?.figures.to.errors, 30, 'n1 judged on n2’s stats');
  await eventually(() => routers[1]!.has('helper') && routers[1]!.get('helper') === undefined, 5_000);
  assert.equal(routers[0]!.get('helper'), undefined);
  assert.deepEqual(decided, ['n1 start', 'n1 rollback']);
});
