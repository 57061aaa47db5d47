import { type JetStreamClient, jetstream } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';

/** A store's KV bucket: its connection (the caller's, or one made here and `owned`), and its JetStream client. */
export interface OpenedKvBucket {
  kv: KV;
  js: JetStreamClient;
  nc: NatsConnection;
  owned: boolean;
}

/**
 * Opens (creating if needed) a KV bucket of history 1 for a store: over the caller's
 * connection, or a new one to `servers` (closed again when the bucket cannot be opened).
 * Failures are the store's own typed error, from `unavailable(what, cause)`.
 */
export async function openKvBucket(
  options: { connection?: NatsConnection | undefined; servers?: string | string[] | undefined },
  bucket: string,
  settings: { timeout: number; replicas: number },
  unavailable: (what: string, cause: unknown) => Error,
): Promise<OpenedKvBucket> {
  const { timeout, replicas } = settings;
  let nc = options.connection;
  const owned = nc === undefined;
  try {
    nc ??= await connect({ servers: options.servers, timeout });
  } catch (error) {
    throw unavailable(`connect to ${String(options.servers)}`, error);
  }
  try {
    const js = jetstream(nc, { timeout });
    const kv = await new Kvm(js).create(bucket, { history: 1, replicas });
    return { kv, js, nc, owned };
  } catch (error) {
    if (owned) await nc.close().catch(() => {});
    throw unavailable(`open the bucket ${bucket}`, error);
  }
}
