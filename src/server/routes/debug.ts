import type { ServerResponse } from 'node:http';
import { Session } from 'node:inspector/promises';
import { z } from 'zod';
import type { Bus } from '../../bus/index.ts';
import type { Runtime } from '../../core/index.ts';
import { EventLoopMonitor } from '../../observability/index.ts';
import { resiliencePolicies } from '../../resilience/index.ts';
import { HttpError, sendJson } from '../http-errors.ts';
import { parseRequest } from '../parse-request.ts';
import type { Router } from '../router.ts';

const profileQuery = z.strictObject({ seconds: z.coerce.number().min(0.1).max(60).default(10) });

/** What the debug routes read. */
export interface DebugSources {
  runtime: Runtime;
  bus?: Bus;
  /**
   * The process's event-loop monitor, shared with the metrics (`Metrics.eventLoop`; its owner
   * closes it). Without one the routes start their own and their `close()` stops it.
   */
  eventLoop?: EventLoopMonitor;
  /** Largest heap, in bytes, a snapshot is taken of (a snapshot briefly needs about as much again). Default 1 GiB. */
  maxHeapSnapshotBytes?: number;
}

/**
 * The Go `expvar` / `pprof` analogues, admin-only: `/debug/vars` (runtime figures as JSON),
 * `/debug/pprof/profile?seconds=N` (a CPU profile, `.cpuprofile`, for Chrome DevTools) and
 * `/debug/pprof/heap` (a heap snapshot, streamed). One profile or snapshot at a time.
 * `eventLoop.delayMs` covers the monitor's current window: since the previous `/metrics`
 * scrape when the metrics share it, else since the start. Returns `close()`, which stops the
 * event-loop monitor the routes started (not a shared one).
 */
export function addDebugRoutes(router: Router, sources: DebugSources, stopping: AbortSignal): () => void {
  const ownMonitor = sources.eventLoop === undefined ? new EventLoopMonitor() : undefined;
  const eventLoop = sources.eventLoop ?? (ownMonitor as EventLoopMonitor);
  let busy: string | undefined;
  const exclusive = async (what: string, fn: () => Promise<void>) => {
    if (busy !== undefined)
      throw new HttpError('PROFILE_IN_PROGRESS', `A ${busy} is being taken; try again when it is done.`);
    busy = what;
    try {
      await fn();
    } finally {
      busy = undefined;
    }
  };

  router.add(
    'GET',
    '/debug/vars',
    (_req, res) => {
      const ms = (ns: number) => Math.round(ns / 1e4) / 100;
      const delay = eventLoop.delay();
      sendJson(res, 200, {
        pid: process.pid,
        node: process.version,
        uptimeSeconds: Math.round(process.uptime()),
        memory: process.memoryUsage(),
        cpu: process.cpuUsage(),
        eventLoop: {
          utilization: Math.round(eventLoop.utilization() * 1000) / 1000,
          delayMs: {
            min: ms(delay.min),
            mean: ms(delay.mean),
            p50: ms(delay.p50),
            p99: ms(delay.p99),
            max: ms(delay.max),
          },
        },
        runtime: sources.runtime.stats(),
        bus:
          sources.bus === undefined
            ? undefined
            : { transport: sources.bus.transport.name, ...sources.bus.stats() },
        activeResources: countBy(process.getActiveResourcesInfo()),
      });
    },
    'admin',
  );

  router.add(
    'GET',
    '/v1/resilience',
    (_req, res) => sendJson(res, 200, { policies: resiliencePolicies() }),
    'admin',
  );

  router.add(
    'GET',
    '/debug/pprof/profile',
    async (_req, res, { query }) => {
      const { seconds } = parseRequest(profileQuery, Object.fromEntries(query), 'query');
      await exclusive('CPU profile', async () => {
        const session = new Session();
        session.connect();
        try {
          await session.post('Profiler.enable');
          await session.post('Profiler.start');
          await wait(seconds * 1000, [stopping, closedSignal(res)]);
          const { profile } = await session.post('Profiler.stop');
          const body = JSON.stringify(profile);
          if (res.destroyed) return;
          res.writeHead(200, {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'content-disposition': `attachment; filename="cpu-${process.pid}-${Date.now()}.cpuprofile"`,
          });
          res.end(body);
        } finally {
          session.disconnect();
        }
      });
    },
    'admin',
  );

  router.add(
    'GET',
    '/debug/pprof/heap',
    async (_req, res) => {
      const limit = sources.maxHeapSnapshotBytes ?? 1024 ** 3;
      const used = process.memoryUsage().heapUsed;
      if (used > limit) {
        throw new HttpError(
          'HEAP_TOO_LARGE',
          `The heap holds ${used} bytes, over the snapshot limit of ${limit}.`,
          {
            details: { heapUsed: used, limit },
          },
        );
      }
      await exclusive('heap snapshot', async () => {
        const session = new Session();
        session.connect();
        res.writeHead(200, {
          'content-type': 'application/json',
          'content-disposition': `attachment; filename="heap-${process.pid}-${Date.now()}.heapsnapshot"`,
        });
        session.on('HeapProfiler.addHeapSnapshotChunk', (m) => {
          if (!res.destroyed) res.write(m.params.chunk);
        });
        try {
          await session.post('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
        } finally {
          session.disconnect();
          res.end();
        }
      });
    },
    'admin',
  );

  return () => ownMonitor?.close();
}

function countBy(items: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[item] = (out[item] ?? 0) + 1;
  return out;
}

function closedSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => controller.abort());
  return controller.signal;
}

/** Resolves after `ms`, or as soon as any signal aborts. */
function wait(ms: number, signals: AbortSignal[]): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      for (const s of signals) s.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    for (const s of signals) {
      if (s.aborted) return done();
      s.addEventListener('abort', done, { once: true });
    }
  });
}
