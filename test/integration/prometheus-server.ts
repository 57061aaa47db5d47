// A real Prometheus server for the exposition test. Installs the Debian package when the
// binary is missing (as root); skips with a one-line reason when it cannot, except under
// CI=true, where that fails the run. The package's own service is never used: each test
// starts its own `prometheus` process on a free loopback port with a temporary TSDB.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';

/** One instant-vector sample from `/api/v1/query`. */
export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

/** A running Prometheus process. */
export interface PrometheusServer {
  url: string;
  /** Runs an instant query; rejects unless Prometheus answers `status: success`. */
  query(promql: string): Promise<PromSample[]>;
  /** SIGTERM, waits for the process to exit, removes the config and TSDB directory. */
  stop(): Promise<void>;
}

function run(file: string, args: string[], timeoutMs: number): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        timeout: timeoutMs,
        maxBuffer: 16 * 1024 * 1024,
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      },
      (error, stdout, stderr) => resolve({ ok: error === null, output: `${stdout}${stderr}`.trim() }),
    );
  });
}

/**
 * Resolves to `undefined` when a `prometheus` binary is available (installing the Debian
 * package if needed), or to a skip reason. Under CI=true a missing binary throws instead.
 */
export async function ensurePrometheus(): Promise<string | undefined> {
  if (existsSync(PROMETHEUS_BIN)) return undefined;
  const reason = await install();
  if (reason === undefined) return undefined;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
  return reason;
}

async function install(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return `${PROMETHEUS_BIN} is missing and installing it needs root`;
  if (!existsSync('/usr/bin/apt-get')) return `${PROMETHEUS_BIN} is missing and there is no apt-get`;
  const initScript = '/etc/init.d/prometheus';
  const hadService = existsSync(initScript);
  const args = ['install', '-y', '--no-install-recommends', 'prometheus'];
  let result = await run('apt-get', args, 600_000);
  if (!result.ok) {
    await run('apt-get', ['update'], 300_000);
    result = await run('apt-get', args, 600_000);
  }
  // The package's postinst may try to start its own service (no systemd here; policy-rc.d
  // usually refuses). Stop the one this install added, if it did start: the tests only use
  // the process they spawn, and a service installed earlier is not ours to stop.
  if (!hadService && existsSync(initScript)) await run(initScript, ['stop'], 30_000);
  if (!result.ok) {
    return `${PROMETHEUS_BIN} is missing and apt-get install prometheus failed: ${result.output.split('\n').at(-1)}`;
  }
  if (!existsSync(PROMETHEUS_BIN))
    return `${PROMETHEUS_BIN} is missing (the Debian package installs /usr/bin/prometheus)`;
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts Prometheus scraping `target` (`host:port`, path `/metrics`) every second as job
 * `job`, sending `credentials` as a bearer token when given, listening on `port` (default a free
 * one; pass a stopped server's port to start it again at the same URL). Resolves once it is ready.
 */
export async function startPrometheus(
  target: string,
  options: { job?: string; credentials?: string; port?: number } = {},
): Promise<PrometheusServer> {
  const dir = await mkdtemp(join(tmpdir(), 'agentfleet-prometheus-'));
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    `  - job_name: ${JSON.stringify(options.job ?? 'agentfleet')}`,
    '    metrics_path: /metrics',
    ...(options.credentials === undefined
      ? []
      : [
          '    authorization:',
          '      type: Bearer',
          `      credentials: ${JSON.stringify(options.credentials)}`,
        ]),
    '    static_configs:',
    `      - targets: [${JSON.stringify(target)}]`,
    '',
  ].join('\n');
  await writeFile(join(dir, 'prometheus.yml'), config);
  const child: ChildProcess = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    log = (log + chunk).slice(-8_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(url, child, () => log);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    stop,
    async query(promql) {
      const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await response.json()) as {
        status: string;
        error?: string;
        data?: {
          resultType: string;
          result: Array<{ metric: Record<string, string>; value: [number, string] }>;
        };
      };
      if (body.status !== 'success')
        throw new Error(`query ${promql} failed: ${body.error ?? response.status}`);
      if (body.data?.resultType !== 'vector') throw new Error(`query ${promql}: ${body.data?.resultType}`);
      return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
  };
}

async function waitReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${log()}`);
    try {
      if ((await fetch(`${url}/-/ready`)).ok) return;
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`prometheus was not ready in 30 s: ${log()}`);
}

/** Polls `read` until `check` accepts its result, failing with the last result after `timeoutMs`. */
export async function until<T>(
  read: () => Promise<T>,
  check: (value: T) => boolean,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let failure: unknown;
  while (Date.now() < deadline) {
    try {
      last = await read();
      failure = undefined;
      if (check(last)) return last;
    } catch (error) {
      failure = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(
    `condition not met in ${timeoutMs} ms; last: ${failure === undefined ? JSON.stringify(last) : String(failure)}`,
  );
}
