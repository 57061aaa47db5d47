// The rollout store contract on JetStream KV (loopback NATS 4222): each case in a fresh bucket,
// each handle on its own connection, as separate nodes would be; buckets deleted afterwards.

import { randomBytes } from 'node:crypto';
import { after, it } from 'node:test';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { NatsKvRolloutStore } from '../../src/nats.ts';
import { rolloutStoreContract } from '../../src/testing/index.ts';
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

rolloutStoreContract('nats kv', {
  skip,
  open: async () => {
    const bucket = `af-rollouts-${randomBytes(4).toString('hex')}`;
    buckets.push(bucket);
    return [
      await NatsKvRolloutStore.open({ servers: NATS_URL, bucket }),
      await NatsKvRolloutStore.open({ servers: NATS_URL, bucket }),
    ];
  },
  putRaw: async (store, key, value) => {
    const nc = await connect({ servers: NATS_URL });
    try {
      await (await new Kvm(nc).open((store as NatsKvRolloutStore).bucket)).put(key, value);
    } finally {
      await nc.close();
    }
  },
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
