interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per key, in process: `capacity` tokens, refilled continuously at
 * `refillPerSecond`. Hand-written because rate-limiter-flexible (used for the fixed window)
 * has no token bucket; the Redis variant is one Lua script (`redis-token-bucket.ts`).
 *
 * Idle keys are forgotten without a scan: buckets live in two generations (maps), and a
 * generation is dropped whole once it is a full refill old. Every bucket in the dropped one
 * was last used a full refill ago, so it was full: the same as a new bucket. A key used again
 * moves to the current generation. At most `maxKeys` buckets are held; when the current
 * generation holds half of them it is rotated early, and the least recently used keys are
 * then forgotten even if not yet full (they start full again).
 */
export class LocalTokenBuckets {
  readonly #capacity: number;
  readonly #perMs: number;
  /** Time for an empty bucket to fill, in ms: a generation's age before it is dropped. */
  readonly #refillMs: number;
  readonly #maxPerGeneration: number;
  readonly #now: () => number;
  #current = new Map<string, Bucket>();
  #previous = new Map<string, Bucket>();
  #generationStart: number;

  constructor(
    capacity: number,
    refillPerSecond: number,
    now: () => number = performance.now.bind(performance),
    maxKeys = 100_000,
  ) {
    this.#capacity = capacity;
    this.#perMs = refillPerSecond / 1000;
    this.#refillMs = capacity / this.#perMs;
    this.#maxPerGeneration = Math.max(1, Math.floor(maxKeys / 2));
    this.#now = now;
    this.#generationStart = now();
  }

  /** Buckets held (at most `maxKeys`). */
  get size(): number {
    return this.#current.size + this.#previous.size;
  }

  /** Takes `points` tokens; returns 0, or the ms until enough tokens will be there. */
  take(key: string, points: number): number {
    const now = this.#now();
    if (now - this.#generationStart >= this.#refillMs) this.#rotate(now);
    let b = this.#current.get(key);
    if (b === undefined) {
      b = this.#previous.get(key);
      if (b === undefined) b = { tokens: this.#capacity, at: now };
      else this.#previous.delete(key);
      if (this.#current.size >= this.#maxPerGeneration) this.#rotate(now);
      this.#current.set(key, b);
    }
    b.tokens = Math.min(this.#capacity, b.tokens + (now - b.at) * this.#perMs);
    b.at = now;
    if (b.tokens >= points) {
      b.tokens -= points;
      return 0;
    }
    return Math.ceil((points - b.tokens) / this.#perMs);
  }

  /** Forgets `key`'s bucket: it starts full again (a deleted tenant, say). */
  delete(key: string): void {
    this.#current.delete(key);
    this.#previous.delete(key);
  }

  /** The current generation becomes the previous one; the previous one is dropped whole. */
  #rotate(now: number): void {
    this.#previous = this.#current;
    this.#current = new Map();
    this.#generationStart = now;
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
