// Fresh JetStream KV buckets on the loopback NATS for a store's contract tests: a new bucket
// per case, raw writes beside the store (to plant a bad value), every bucket deleted afterwards.
import { randomBytes } from 'node:crypto';
import { after } from 'node:test';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { NATS_URL, serverSkipReason } from './servers.ts';

/** Buckets named `<prefix>-<random>`; `skip` is set when NATS is not there (a failure under CI). */
export async function kvTestBuckets(prefix: string): Promise<{
  skip: string | undefined;
  bucket(): string;
  putRaw(bucket: string, key: string, value: string): Promise<void>;
}> {
  const skip = await serverSkipReason('NATS', 4222);
  const buckets: string[] = [];
  after(async () => {
    if (skip !== undefined) return;
    const nc = await connect({ servers: NATS_URL });
    const kvm = new Kvm(nc);
    for (const bucket of buckets) await (await kvm.open(bucket)).destroy().catch(() => undefined);
    await nc.close();
  });
  return {
    skip,
    bucket() {
      const bucket = `${prefix}-${randomBytes(4).toString('hex')}`;
      buckets.push(bucket);
      return bucket;
    },
    async putRaw(bucket, key, value) {
      const nc = await connect({ servers: NATS_URL });
      try {
        await (await new Kvm(nc).open(bucket)).put(key, value);
      } finally {
        await nc.close();
      }
    },
  };
}
