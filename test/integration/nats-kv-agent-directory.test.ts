// The agent directory contract on JetStream KV (loopback NATS 4222): each case in a fresh
// bucket, each client on its own connection, as separate nodes would be; buckets deleted afterwards.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, it } from 'node:test';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import type { AgentDirectory } from '../../src/cluster/index.ts';
import { agentKey } from '../../src/cluster/nats-kv-agent-keys.ts';
import { NatsKvAgentDirectory } from '../../src/nats.ts';
import { agentDirectoryContract } from '../../src/testing/index.ts';
import { freePort, rejectsWithCode } from '../helpers.ts';
import { NATS_URL, serverSkipReason } from './servers.ts';

const skip = await serverSkipReason('NATS', 4222);
const buckets: string[] = [];

const freshBucket = () => {
  const bucket = `af-agents-${randomBytes(4).toString('hex')}`;
  buckets.push(bucket);
  return bucket;
};

/** Puts `value` at a key of `bucket` as something other than the directory would. */
async function putRaw(bucket: string, key: string, value: string): Promise<void> {
  const nc = await connect({ servers: NATS_URL });
  try {
    await (await new Kvm(nc).open(bucket)).put(key, value);
  } finally {
    await nc.close();
  }
}

after(async () => {
  if (skip !== undefined) return;
  const nc = await connect({ servers: NATS_URL });
  const kvm = new Kvm(nc);
  for (const bucket of buckets) await (await kvm.open(bucket)).destroy().catch(() => undefined);
  await nc.close();
});

agentDirectoryContract('nats kv', {
  skip,
  open: async () => {
    const bucket = freshBucket();
    return [
      await NatsKvAgentDirectory.open({ servers: NATS_URL, bucket }),
      await NatsKvAgentDirectory.open({ servers: NATS_URL, bucket }),
    ];
  },
  corrupt: async (dir: AgentDirectory) => {
    await putRaw((dir as NatsKvAgentDirectory).bucket, agentKey('acme', 'bad.one'), '{"v":2,"id":"bad.one"}');
    return { tenant: 'acme', id: 'bad.one' };
  },
});

it('an agent directory that cannot be reached is AGENT_DIRECTORY_UNAVAILABLE, at once', async () => {
  const port = await freePort();
  const started = Date.now();
  await rejectsWithCode(
    NatsKvAgentDirectory.open({ servers: `127.0.0.1:${port}`, timeoutMs: 500 }),
    'AGENT_DIRECTORY_UNAVAILABLE',
  );
  assert.ok(Date.now() - started < 5_000, 'took too long to fail');
});

it('refuses bad options with INVALID_OPTIONS', async () => {
  await rejectsWithCode(NatsKvAgentDirectory.open({ servers: NATS_URL, bucket: 'a.b' }), 'INVALID_OPTIONS');
  await rejectsWithCode(NatsKvAgentDirectory.open({ servers: NATS_URL, timeoutMs: 0 }), 'INVALID_OPTIONS');
  await rejectsWithCode(NatsKvAgentDirectory.open({}), 'INVALID_OPTIONS');
});

it('a row that names another agent than its key is AGENT_RECORD_CORRUPT', async (t) => {
  if (skip !== undefined) return t.skip(skip);
  const bucket = freshBucket();
  const dir = await NatsKvAgentDirectory.open({ servers: NATS_URL, bucket });
  const record = { v: 1, tenant: 'acme', id: 'alice', definition: 'assistant', createdAt: 1 };
  await putRaw(bucket, agentKey('globex', 'alice'), JSON.stringify(record));
  await putRaw(bucket, agentKey('acme', 'bob'), JSON.stringify(record));
  await putRaw(bucket, agentKey('acme', 'carol'), 'not json');
  await rejectsWithCode(dir.get('globex', 'alice'), 'AGENT_RECORD_CORRUPT');
  await rejectsWithCode(dir.get('acme', 'bob'), 'AGENT_RECORD_CORRUPT');
  const error = await rejectsWithCode(dir.get('acme', 'carol'), 'AGENT_RECORD_CORRUPT');
  assert.match(error.message, /not JSON/);
  await dir.close();
});

it('keeps its bucket at history 1 with no max age; a borrowed connection stays open', async (t) => {
  if (skip !== undefined) return t.skip(skip);
  const bucket = freshBucket();
  const nc = await connect({ servers: NATS_URL });
  const dir = await NatsKvAgentDirectory.open({ connection: nc, bucket });
  const status = await (await new Kvm(nc).open(bucket)).status();
  assert.equal(status.history, 1);
  assert.equal(status.ttl, 0);
  const { revision } = await dir.create({ v: 1, id: 'x', definition: 'd', createdAt: 1 });
  assert.ok(await dir.update({ v: 1, id: 'x', definition: 'd', createdAt: 1, owner: 'n' }, revision));
  assert.equal((await (await new Kvm(nc).open(bucket)).status()).values, 1, 'one message per key');
  await dir.close();
  assert.equal(nc.isClosed(), false);
  await nc.close();
});

it('a directory whose connection dropped is AGENT_DIRECTORY_UNAVAILABLE', async (t) => {
  if (skip !== undefined) return t.skip(skip);
  const nc = await connect({ servers: NATS_URL });
  const dir = await NatsKvAgentDirectory.open({ connection: nc, bucket: freshBucket(), timeoutMs: 500 });
  await nc.close();
  const error = await rejectsWithCode(dir.get('acme', 'x'), 'AGENT_DIRECTORY_UNAVAILABLE');
  assert.ok(error.cause !== undefined);
  await rejectsWithCode(dir.list('acme'), 'AGENT_DIRECTORY_UNAVAILABLE');
  await rejectsWithCode(
    dir.create({ v: 1, id: 'x', definition: 'd', createdAt: 1 }),
    'AGENT_DIRECTORY_UNAVAILABLE',
  );
  await dir.close();
});
