/**
 * A token bucket per key, in process: `capacity` tokens, refilled continuously at
 * `refillPerSecond`. Hand-written because rate-limiter-flexible (used for the fixed window)
 * has no token bucket; the Redis variant is one Lua script (`redis-token-bucket.ts`).
 */
export class LocalTokenBuckets {
  readonly #capacity: number;
  readonly #perMs: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #now: () => number;

  constructor(
    capacity: number,
    refillPerSecond: number,
    now: () => number = performance.now.bind(performance),
  ) {
    this.#capacity = capacity;
    this.#perMs = refillPerSecond / 1000;
    this.#now = now;
  }

  /** Takes `points` tokens; returns 0, or the ms until enough tokens will be there. */
  take(key: string, points: number): number {
    const now = this.#now();
    let b = this.#buckets.get(key);
    if (b === undefined) {
      b = { tokens: this.#capacity, at: now };
      if (this.#buckets.size >= 100_000) this.#prune(now);
      this.#buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.#capacity, b.tokens + (now - b.at) * this.#perMs);
      b.at = now;
    }
    if (b.tokens >= points) {
      b.tokens -= points;
      return 0;
    }
    return Math.ceil((points - b.tokens) / this.#perMs);
  }

  /** Forgets full buckets (they are the same as new ones). */
  #prune(now: number): void {
    for (const [key, b] of this.#buckets) {
      if (b.tokens + (now - b.at) * this.#perMs >= this.#capacity) this.#buckets.delete(key);
    }
  }
}

/** The bucket as a Redis script: the server's clock, one round trip, atomic across processes. */
export const REDIS_TOKEN_BUCKET_SCRIPT = `
local capacity = tonumber(ARGV[1])
local per_ms = tonumber(ARGV[2]) / 1000
local want = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or capacity
local at = tonumber(b[2]) or now
tokens = math.min(capacity, tokens + (now - at) * per_ms)
local wait = 0
if tokens >= want then tokens = tokens - want else wait = math.ceil((want - tokens) / per_ms) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / per_ms) + 1000)
return wait
`;
