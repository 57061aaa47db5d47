// Hot swaps under load: autocannon drives messages to LLM agents (against the fake vendor, 20 ms
// per call) on a server in its own process, first without swaps, then while a new version of the
// agents' spec lands every SWAP_EVERY_MS: edits of the agents folder's file (hot reload) and
// PUTs of a tenant's definition. Failed requests must be 0; p99 with swaps is compared with
// p99 without, measured in the same run.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONNECTIONS, freePort } from './http-load.ts';
import { type BenchReport, printReport, round } from './report.ts';

const PHASE_S = Number(process.env.BENCH_SWAP_SECONDS ?? 6);
const SWAP_EVERY_MS = 200;
const AGENTS = 32;
const ADMIN_KEY = 'afadmin_hot_swap_bench_key_0123456789';
const root = fileURLToPath(new URL('..', import.meta.url));

const spec = (name: string, n: number) =>
  JSON.stringify({
    name,
    description: `Echoes, version ${n}.`,
    cognition: { type: 'llm', model: 'openai/gpt-4o-mini', system: `You echo. Revision ${n}.` },
    concurrency: 64,
  });

interface Phase {
  phase: string;
  requests: number;
  failed: number;
  p50ms: number;
  p99ms: number;
  swaps: number;
}

async function startChild(
  args: string[],
  env: Record<string, string>,
): Promise<{ child: ChildProcess; line: Promise<string> }> {
  const child = spawn(process.execPath, args, {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  const line = new Promise<string>((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const nl = buffered.indexOf('\n');
      if (nl >= 0) resolve(buffered.slice(0, nl));
    });
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)));
  });
  return { child, line };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

async function api(
  base: string,
  key: string,
  method: string,
  path: string,
  body?: string,
): Promise<Response> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body }),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res;
}

async function waitUp(base: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the server never came up');
}

/** Drives messages to the agents `ids` for `seconds` while `swap` runs every SWAP_EVERY_MS (when given). */
async function drive(
  base: string,
  key: string,
  ids: string[],
  seconds: number,
  phase: string,
  swap?: () => Promise<void>,
): Promise<Phase> {
  const { default: autocannon } = await import('autocannon');
  let next = 0;
  let swaps = 0;
  let swapping = true;
  const swapper = (async () => {
    while (swap !== undefined && swapping) {
      await new Promise((r) => setTimeout(r, SWAP_EVERY_MS));
      if (!swapping) break;
      await swap();
      swaps++;
    }
  })();
  const result = await autocannon({
    url: base,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        setupRequest: (request) => {
          const id = ids[next++ % ids.length];
          return {
            ...request,
            path: `/v1/agents/${id}/messages`,
            body: JSON.stringify({ input: `hello ${next}` }),
          };
        },
      },
    ],
  });
  swapping = false;
  await swapper;
  return {
    phase,
    requests: result.requests.total,
    failed: result.non2xx + result.errors + result.timeouts,
    p50ms: result.latency.p50,
    p99ms: result.latency.p99,
    swaps,
  };
}

export async function runHotSwapBench(): Promise<BenchReport> {
  const dir = join(tmpdir(), `agentfleet-hot-swap-${process.pid}`);
  const agentsDir = join(dir, 'agents');
  await mkdir(agentsDir, { recursive: true });
  const file = join(agentsDir, 'echo.json');
  await writeFile(file, spec('echo', 0));
  const vendor = await startChild(['test/vendors/main.ts', '--latency', '20'], {});
  const children: ChildProcess[] = [vendor.child];
  try {
    const { url } = JSON.parse(await vendor.line) as { url: string };
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const server = spawn(
      process.execPath,
      ['src/cli.ts', 'serve', '--port', String(port), '--host', '127.0.0.1', '--agents', agentsDir],
      {
        cwd: root,
        stdio: 'ignore',
        env: {
          ...process.env,
          LOG_LEVEL: 'warn',
          AGENTFLEET_ADMIN_KEY: ADMIN_KEY,
          AGENTFLEET_DATA_DIR: join(dir, 'data'),
          OPENAI_API_KEY: 'bench',
          OPENAI_BASE_URL: `${url}/v1`,
        },
      },
    );
    children.push(server);
    await waitUp(base);
    const tenant = (await (
      await api(base, ADMIN_KEY, 'POST', '/v1/tenants', JSON.stringify({ id: 'bench' }))
    ).json()) as {
      key: string;
    };
    await api(base, tenant.key, 'PUT', '/v1/definitions/own', spec('own', 0));
    const folderIds: string[] = [];
    const ownIds: string[] = [];
    for (let i = 0; i < AGENTS; i++) {
      for (const [definition, ids] of [
        ['echo', folderIds],
        ['own', ownIds],
      ] as const) {
        const id = `${definition}-${i}`;
        await api(base, tenant.key, 'POST', '/v1/agents', JSON.stringify({ definition, id }));
        ids.push(id);
      }
    }
    await drive(base, tenant.key, folderIds, 3, 'warm-up');
    await drive(base, tenant.key, ownIds, 3, 'warm-up');
    let revision = 0;
    const phases: Phase[] = [];
    phases.push(await drive(base, tenant.key, folderIds, PHASE_S, 'folder spec, no swaps'));
    phases.push(
      await drive(base, tenant.key, folderIds, PHASE_S, 'folder spec, file edited every 200 ms', async () => {
        await writeFile(file, spec('echo', ++revision));
      }),
    );
    phases.push(await drive(base, tenant.key, ownIds, PHASE_S, 'tenant definition, no swaps'));
    phases.push(
      await drive(base, tenant.key, ownIds, PHASE_S, 'tenant definition, PUT every 200 ms', async () => {
        await api(base, tenant.key, 'PUT', '/v1/definitions/own', spec('own', ++revision));
      }),
    );
    const versions = (await (await api(base, tenant.key, 'GET', '/v1/definitions/own/versions')).json()) as {
      versions: Array<{ label: string }>;
    };
    const [folderBase, folderSwaps, ownBase, ownSwaps] = phases as [Phase, Phase, Phase, Phase];
    return {
      name: 'hot-swap',
      measures: `messages to ${AGENTS} LLM agents (fake vendor, 20 ms a call), ${CONNECTIONS} connections, ${PHASE_S}s a phase; a new spec version every ${SWAP_EVERY_MS} ms in the swap phases`,
      rows: phases.map((p) => ({
        phase: p.phase,
        requests: p.requests,
        failed: p.failed,
        'p50 ms': round(p.p50ms),
        'p99 ms': round(p.p99ms),
        swaps: p.swaps,
      })),
      figures: {
        failedRequests: phases.reduce((n, p) => n + p.failed, 0),
        folderSwaps: folderSwaps.swaps,
        putSwaps: ownSwaps.swaps,
        folderP99WithSwapsToWithoutRatio: round(folderSwaps.p99ms / folderBase.p99ms),
        putP99WithSwapsToWithoutRatio: round(ownSwaps.p99ms / ownBase.p99ms),
        versionsKeptAfter: versions.versions.length,
      },
    };
  } finally {
    for (const child of children.reverse()) await stop(child);
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) printReport(await runHotSwapBench());
