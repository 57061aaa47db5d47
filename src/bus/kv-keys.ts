import type { KV, KvEntry } from '@nats-io/kv';

/**
 * The live keys of `kv` matching `filter`, for the JetStream KV stores (the agent directory,
 * the definition store). A listing that makes no progress for `timeoutMs` is stopped with an
 * error, so a stalled server does not hang the caller.
 */
export async function listKvKeys(kv: KV, filter: string, timeoutMs: number): Promise<string[]> {
  const iter = await kv.keys(filter);
  const keys: string[] = [];
  let seen = -1;
  const watchdog = setInterval(() => {
    if (keys.length === seen) iter.stop(new Error(`listing keys made no progress for ${timeoutMs} ms`));
    seen = keys.length;
  }, timeoutMs);
  watchdog.unref();
  try {
    for await (const key of iter) keys.push(key);
    return keys;
  } finally {
    clearInterval(watchdog);
  }
}

/** A stored value: not missing, not a delete or purge marker. */
export function isLiveKvEntry(entry: KvEntry | null): entry is KvEntry {
  return entry !== null && entry.operation === 'PUT';
}
