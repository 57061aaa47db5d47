import { InvalidOptionsError } from '../errors/index.ts';

/** The options every JetStream KV store shares (runs, leases, the agent directory). */
export interface KvStoreOptionsInput {
  connection?: unknown;
  servers?: string | string[];
  bucket?: string;
  timeoutMs?: number;
  replicas?: number;
}

/**
 * Checks a KV store's common options before anything connects, filling in defaults.
 * `needsTarget`: exactly one of `connection` and `servers` must be given.
 * @throws InvalidOptionsError naming the store and the bad option.
 */
export function checkKvStoreOptions(
  store: string,
  options: KvStoreOptionsInput,
  defaults: { bucket?: string; timeoutMs: number; needsTarget?: boolean },
): { bucket: string; timeout: number; replicas: number } {
  const bucket = options.bucket ?? defaults.bucket ?? '';
  if (defaults.bucket !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(bucket))
    throw new InvalidOptionsError(
      `${store}: bucket must be 1-64 letters, digits, _ or -; got ${JSON.stringify(bucket)}.`,
    );
  const timeout = options.timeoutMs ?? defaults.timeoutMs;
  if (!Number.isInteger(timeout) || timeout < 1)
    throw new InvalidOptionsError(`${store}: timeoutMs must be a positive integer; got ${timeout}.`);
  const replicas = options.replicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5)
    throw new InvalidOptionsError(`${store}: replicas must be an integer from 1 to 5; got ${replicas}.`);
  if (defaults.needsTarget === true && (options.connection === undefined) === (options.servers === undefined))
    throw new InvalidOptionsError(`Give ${store}.open a connection or servers (one of them).`);
  return { bucket, timeout, replicas };
}
