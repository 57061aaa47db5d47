/** What the NATS KV stores of several folders share, loaded only with them (it loads the NATS client). */
export { type OpenedKvBucket, openKvBucket } from './open-kv-bucket.ts';
