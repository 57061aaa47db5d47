/**
 * Memoises `read()` for one synchronous turn. prom-client calls every metric's `collect()`
 * one after another in the same turn of a scrape, so the metrics fed by one `stats()` call
 * (a dozen gauges and counters) read a single consistent snapshot, and `stats()` runs once.
 */
export function perScrape<T>(read: () => T): () => T {
  let cached: T | undefined;
  let fresh = false;
  const forget = (): void => {
    fresh = false;
    cached = undefined;
  };
  return () => {
    if (!fresh) {
      cached = read();
      fresh = true;
      queueMicrotask(forget);
    }
    return cached as T;
  };
}
