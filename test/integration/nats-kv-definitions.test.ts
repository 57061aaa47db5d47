import { it } from 'node:test';
import { NatsKvDefinitionStore } from '../../src/nats.ts';
import { definitionStoreContract } from '../../src/testing/index.ts';
import { freePort, rejectsWithCode } from '../helpers.ts';
import { kvTestBuckets } from './kv-test-buckets.ts';
import { NATS_URL } from './servers.ts';

const kv = await kvTestBuckets('af-defs');
const { skip } = kv;

definitionStoreContract('nats kv', {
  skip,
  open: async () => {
    const bucket = kv.bucket();
    return [
      await NatsKvDefinitionStore.open({ servers: NATS_URL, bucket }),
      await NatsKvDefinitionStore.open({ servers: NATS_URL, bucket }),
    ];
  },
  putRaw: (store, key, value) => kv.putRaw((store as NatsKvDefinitionStore).bucket, key, value),
});

it('a definitions store that cannot be reached is DEFINITION_STORE_UNAVAILABLE', async () => {
  const port = await freePort();
  await rejectsWithCode(
    NatsKvDefinitionStore.open({ servers: `127.0.0.1:${port}`, timeoutMs: 500 }),
    'DEFINITION_STORE_UNAVAILABLE',
  );
});

it('refuses bad options with INVALID_OPTIONS', async () => {
  await rejectsWithCode(NatsKvDefinitionStore.open({ servers: NATS_URL, bucket: 'a.b' }), 'INVALID_OPTIONS');
  await rejectsWithCode(NatsKvDefinitionStore.open({}), 'INVALID_OPTIONS');
});
