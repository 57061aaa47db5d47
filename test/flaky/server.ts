// A flaky HTTP server for resilience tests: every `failEvery`-pattern request fails with 500
// (deterministic, so a test knows its error rate exactly), after `latencyMs`; counts requests.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FlakyServer {
  url: string;
  /** Requests received so far. */
  readonly requests: number;
  /** Fraction of requests that fail (0–1), spread evenly: at 0.6, 3 of every 5. */
  errorRate: number;
  latencyMs: number;
  /** When set, failures answer 429 with this Retry-After (seconds) instead of 500. */
  retryAfterSeconds: number | undefined;
  close(): Promise<void>;
}

export async function startFlakyServer(errorRate = 0, latencyMs = 0): Promise<FlakyServer> {
  let requests = 0;
  let owed = errorRate > 0 ? 1 - errorRate : 0; // accumulates errorRate per request; a failure when it reaches 1
  const state = { errorRate, latencyMs, retryAfterSeconds: undefined as number | undefined };
  const server = createServer((req, res) => {
    requests++;
    owed += state.errorRate;
    const fail = owed >= 1 - 1e-9;
    if (fail) owed -= 1;
    setTimeout(() => {
      if (!fail) {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      } else if (state.retryAfterSeconds !== undefined) {
        res.writeHead(429, { 'retry-after': String(state.retryAfterSeconds) }).end();
      } else res.writeHead(500).end();
    }, state.latencyMs);
    req.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get requests() {
      return requests;
    },
    get errorRate() {
      return state.errorRate;
    },
    set errorRate(v: number) {
      state.errorRate = v;
      owed = v > 0 ? 1 - v : 0; // the first request of a pattern fails
    },
    get latencyMs() {
      return state.latencyMs;
    },
    set latencyMs(v: number) {
      state.latencyMs = v;
    },
    get retryAfterSeconds() {
      return state.retryAfterSeconds;
    },
    set retryAfterSeconds(v: number | undefined) {
      state.retryAfterSeconds = v;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
