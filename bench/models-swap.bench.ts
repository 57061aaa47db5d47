// Hot reload of the models config under load: N concurrent `generate` calls through one
// provider facade (what `registry.resolve()` answers) against two local fake vendor servers,
// while the config is swapped every ~100 ms between their two base URLs. In the same run,
// phases without swaps and with swaps alternate (interleaved, so drift hits both), and every
// call's latency is kept. Reported: failed calls (must be 0), swaps done, p50/p99 with and
// without swaps and their ratios, and the calls each server answered.
// `BENCH_SWAP_CONCURRENCY` (default 64), `BENCH_SWAP_SECONDS` per phase (default 2),
// `BENCH_SWAP_LATENCY_MS` of the fake vendor (default 20).

import type { Provider } from '../src/llm/index.ts';
import { createProvider, ModelRegistry } from '../src/models/index.ts';
import { startVendorServer, type VendorServer } from '../test/vendors/server.ts';
import { type BenchReport, round } from './report.ts';

const CONCURRENCY = Number(process.env.BENCH_SWAP_CONCURRENCY ?? 64);
const PHASE_MS = Number(process.env.BENCH_SWAP_SECONDS ?? 2) * 1000;
const LATENCY_MS = Number(process.env.BENCH_SWAP_LATENCY_MS ?? 20);
const SWAP_EVERY_MS = 100;
const ROUNDS = 3;
const ask = { model: 'm', messages: [{ role: 'user' as const, content: 'hello' }], maxTokens: 16 };

const configAt = (server: VendorServer) => ({
  providers: { p: { kind: 'openai', baseUrl: `${server.url}/v1`, apiKey: 'k' } },
});

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Phase {
  latencies: number[];
  failed: number;
  swaps: number;
  firstError?: string;
}

/**
 * N callers in a closed loop for `PHASE_MS` on `direct` (a client without the registry's
 * facade), or on the registry's facade; with `swap`, the config alternates between the servers.
 */
async function phase(
  registry: ModelRegistry,
  servers: VendorServer[],
  swap: 'none' | 'alternate' | 'equal',
  direct?: Provider,
): Promise<Phase> {
  const provider = direct ?? registry.resolve('p/m').provider;
  const result: Phase = { latencies: [], failed: 0, swaps: 0 };
  const end = performance.now() + PHASE_MS;
  let timer: NodeJS.Timeout | undefined;
  if (swap !== 'none') {
    let at = 0;
    timer = setInterval(() => {
      if (swap === 'alternate') at = 1 - at;
      registry.reload(configAt(servers[at]!), {});
      result.swaps++;
    }, SWAP_EVERY_MS);
  }
  const caller = async () => {
    while (performance.now() < end) {
      const start = performance.now();
      try {
        await provider.generate(ask);
        result.latencies.push(performance.now() - start);
      } catch (error) {
        result.failed++;
        result.firstError ??= `${(error as { code?: string }).code ?? ''} ${(error as Error).message}`;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, caller));
  clearInterval(timer);
  return result;
}

export async function runModelsSwapBench(): Promise<BenchReport> {
  const servers = [
    await startVendorServer({ latencyMs: LATENCY_MS, record: false }),
    await startVendorServer({ latencyMs: LATENCY_MS, record: false }),
  ];
  const registry = ModelRegistry.fromConfig(configAt(servers[0]!), {});
  const direct = createProvider('p', { kind: 'openai', baseUrl: `${servers[0]!.url}/v1`, apiKey: 'k' }, {});
  try {
    await phase(registry, servers, 'none'); // warm-up: connections, JIT
    await phase(registry, servers, 'none', direct);
    const bare: number[] = [];
    const off: number[] = [];
    const equal: number[] = [];
    const on: number[] = [];
    let failed = 0;
    let swaps = 0;
    let firstError: string | undefined;
    for (let i = 0; i < ROUNDS; i++) {
      // Back to the first server before each phase without swaps, so both baselines use one origin.
      registry.reload(configAt(servers[0]!), {});
      for (const kind of ['direct', 'facade', 'equal', 'alternate'] as const) {
        const swap = kind === 'equal' || kind === 'alternate' ? kind : 'none';
        const r = await phase(registry, servers, swap, kind === 'direct' ? direct : undefined);
        (kind === 'direct' ? bare : kind === 'facade' ? off : kind === 'equal' ? equal : on).push(
          ...r.latencies,
        );
        failed += r.failed;
        if (kind === 'alternate') swaps += r.swaps;
        firstError ??= r.firstError;
      }
    }
    await registry.drained();
    for (const xs of [bare, off, equal, on]) xs.sort((a, b) => a - b);
    const p50Bare = percentile(bare, 50);
    const p99Bare = percentile(bare, 99);
    const p50Off = percentile(off, 50);
    const p99Off = percentile(off, 99);
    const p50On = percentile(on, 50);
    const p99On = percentile(on, 99);
    const seconds = (ROUNDS * PHASE_MS) / 1000;
    return {
      name: 'models-swap',
      measures: `${CONCURRENCY} concurrent generate calls through one provider facade, fake vendor at ${LATENCY_MS} ms, config swapped every ${SWAP_EVERY_MS} ms between two base URLs vs not (${ROUNDS} interleaved rounds of ${PHASE_MS / 1000} s each)`,
      rows: [
        {
          case: 'client alone (no facade)',
          calls: bare.length,
          'calls/s': Math.round(bare.length / seconds),
          'p50 ms': round(p50Bare),
          'p99 ms': round(p99Bare),
          failed: 0,
          swaps: 0,
        },
        {
          case: 'facade, no swaps',
          calls: off.length,
          'calls/s': Math.round(off.length / seconds),
          'p50 ms': round(p50Off),
          'p99 ms': round(p99Off),
          failed: 0,
          swaps: 0,
        },
        {
          case: `facade, equal config reloaded every ${SWAP_EVERY_MS} ms`,
          calls: equal.length,
          'calls/s': Math.round(equal.length / seconds),
          'p50 ms': round(percentile(equal, 50)),
          'p99 ms': round(percentile(equal, 99)),
          failed: 0,
          swaps: 0,
        },
        {
          case: `facade, swap every ${SWAP_EVERY_MS} ms`,
          calls: on.length,
          'calls/s': Math.round(on.length / seconds),
          'p50 ms': round(p50On),
          'p99 ms': round(p99On),
          failed,
          swaps,
        },
      ],
      figures: {
        failed_calls: failed,
        swaps,
        calls_with_swaps: on.length,
        calls_without_swaps: off.length,
        p50_ms_client_alone: round(p50Bare),
        p99_ms_client_alone: round(p99Bare),
        facade_p50_ratio: round(p50Off / p50Bare, 3),
        p50_ms_without: round(p50Off),
        p99_ms_without: round(p99Off),
        p50_ms_with: round(p50On),
        p99_ms_with: round(p99On),
        p50_ratio: round(p50On / p50Off, 3),
        p50_ms_equal_reloads: round(percentile(equal, 50)),
        p99_ms_equal_reloads: round(percentile(equal, 99)),
        p99_ratio: round(p99On / p99Off, 3),
        throughput_ratio: round(on.length / off.length, 3),
        ...(firstError === undefined ? {} : { first_error: firstError }),
      },
    };
  } finally {
    await registry.close();
    await direct.close();
    for (const server of servers) await server.close();
  }
}
