// The transport contract suite against a real NATS server with JetStream.
import { randomBytes } from 'node:crypto';
import { after } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { natsTransport } from '../../src/bus/transports/nats.ts';
import { transportContract } from '../../src/testing/index.ts';
import { NATS_URL, serverSkipReason } from './servers.ts';

const skip = await serverSkipReason('NATS', 4222);
const id = randomBytes(4).toString('hex');
const durablePrefix = `contract_durable_${id}`;
const stream = `CONTRACT_${id}`;

transportContract('nats', {
  wire: true,
  skip,
  durablePrefix,
  connect: () =>
    natsTransport({ servers: NATS_URL, streams: [{ name: stream, subjects: [`${durablePrefix}.>`] }] }),
});

after(async () => {
  if (skip !== undefined) return;
  const nc = await connect({ servers: NATS_URL });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(stream).catch(() => {});
  for await (const name of jsm.streams.names()) {
    if (name.startsWith('KV_dedupe-d')) await jsm.streams.delete(name).catch(() => {});
  }
  await nc.close();
});
