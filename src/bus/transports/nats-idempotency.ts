import { createHash } from 'node:crypto';
import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { BusClosedError, TransportError } from '../errors.ts';
import type { IdempotencyStore } from '../transport.ts';

const EMPTY = new Uint8Array(0);

/**
 * The KV bucket name for a consumer name: `dedupe-<name>` with anything outside
 * `[A-Za-z0-9_-]` replaced, plus a hash of the original when something was replaced, so
 * `a.b` and `a_b` do not share a bucket.
 */
export function bucketName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_-]/g, '_');
  if (safe === name) return `dedupe-${name}`;
  return `dedupe-${safe}-${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
}

/** A message id as a KV key: base64url, so any id (dots, spaces, unicode) is a valid key. */
function keyOf(id: string): string {
  return Buffer.from(id).toString('base64url') || '_';
}

/**
 * Subscriber-side dedupe shared by every node consuming `name`: a JetStream KV bucket whose
 * entries expire after `windowMs` (the bucket's max age). Opening an existing bucket keeps its
 * original window.
 */
export async function natsIdempotencyStore(
  nc: NatsConnection,
  name: string,
  windowMs: number,
): Promise<IdempotencyStore> {
  let kv: KV;
  try {
    kv = await new Kvm(nc).create(bucketName(name), { ttl: windowMs, history: 1 });
  } catch (error) {
    throw new TransportError('nats', `open the dedupe bucket of ${name}`, error);
  }
  let closed = false;
  return {
    async has(id) {
      if (closed) throw new BusClosedError();
      try {
        const entry = await kv.get(keyOf(id));
        return entry !== null && entry.operation === 'PUT';
      } catch (error) {
        throw new TransportError('nats', 'look up a message id', error);
      }
    },
    async add(id) {
      if (closed) throw new BusClosedError();
      try {
        await kv.put(keyOf(id), EMPTY);
      } catch (error) {
        throw new TransportError('nats', 'record a message id', error);
      }
    },
    async close() {
      closed = true;
    },
  };
}
