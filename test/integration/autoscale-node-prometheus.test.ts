// The node's autoscaler end to end with a real Prometheus: Prometheus scrapes the server's own
// /metrics every second, a policy (source `prometheus`, actuator `kubernetes`) reads the steps
// running on the worker pool through PromQL. A load step of agents whose steps wait scales it up
// after the hold; an oscillating load does not scale it down; Prometheus stopped leaves the size
// where it is with the status saying why; back at the same address it recovers, and the load
// ending scales it down after the stabilisation window. Everything is read from GET /v1/autoscaler.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { loadServerConfig } from '../../src/config/index.ts';
import { defineAgent } from '../../src/core/index.ts';
import { type RunningServer, startServer } from '../../src/server/index.ts';
import { freePort, sleep } from '../helpers.ts';
import { TEST_ADMIN_KEY } from '../server-auth.ts';
import { ensurePrometheus, type PrometheusServer, startPrometheus, until } from './prometheus-server.ts';

const skip = await ensurePrometheus();

const JOB = 'autoscale-node';
const QUERY = `max(agentfleet_pool_running{job="${JOB}"})`;
const FOR_MS = 1500;
const WINDOW_MS = 4000;
const POLICY = {
  name: 'fleet',
  actuator: 'kubernetes',
  source: 'prometheus',
  min: 1,
  max: 2,
  cooldownMs: 500,
  scaleDownStabilizationMs: WINDOW_MS,
  rules: [
    {
      name: 'busy',
      when: { all: [{ metric: QUERY, op: '>=', value: 2 }] },
      forMs: FOR_MS,
      action: { type: 'step', change: 1 },
    },
    {
      name: 'idle',
      when: { all: [{ metric: QUERY, op: '<', value: 1 }] },
      action: { type: 'step', change: -1 },
    },
  ],
};

interface Decision {
  at: number;
  lastAt: number;
  kind: 'scale' | 'dry-run' | 'hold';
  state: string;
  from: number;
  to: number;
  desired: number;
  rule?: string;
  reason: string;
  repeats: number;
}
interface PolicyStatus {
  policy: string;
  current: number | undefined;
  desired: number | undefined;
  state: string;
  reason: string;
  history: Decision[];
}

/** Agents whose steps wait on a gate the test opens: while closed, each holds a pool slot. */
class Load {
  #gate: Promise<void> = Promise.resolve();
  #open: () => void = () => {};
  #steps: Promise<unknown>[] = [];
  readonly definition = defineAgent({
    name: 'slow',
    decide: async (n: number) => {
      await this.#gate;
      return n;
    },
  });

  /** Sends one message to each agent; their steps run until `off()`. */
  on(agents: Array<{ send(n: number): Promise<unknown> }>): void {
    this.#gate = new Promise((resolve) => {
      this.#open = resolve;
    });
    this.#steps = agents.map((agent, i) => agent.send(i));
  }

  /** Opens the gate (for cleanup: the steps finish on their own). */
  release(): void {
    this.#open();
  }

  /** Opens the gate and waits for the steps to finish. */
  async off(): Promise<void> {
    this.#open();
    await Promise.all(this.#steps);
    this.#steps = [];
  }
}

describe('the node autoscaler on a real Prometheus', { skip, timeout: 120_000 }, () => {
  it('scales up after the hold, does not flap, holds while Prometheus is down and recovers', async (t) => {
    const promPort = await freePort();
    const app: RunningServer = await startServer(
      loadServerConfig(
        {
          AGENTFLEET_AUTOSCALE_POLICIES: JSON.stringify([POLICY]),
          AGENTFLEET_AUTOSCALE_PROMETHEUS_URL: `http://127.0.0.1:${promPort}`,
          AGENTFLEET_AUTOSCALE_TICK_MS: '200',
        },
        { port: 0, host: '127.0.0.1', logLevel: 'silent', adminKey: TEST_ADMIN_KEY },
      ),
      pino({ level: 'silent' }),
    );
    const load = new Load();
    let prometheus: PrometheusServer | undefined;
    // One cleanup, in order: steps released first, so the shutdown does not wait on them.
    t.after(async () => {
      load.release();
      await prometheus?.stop();
      await app.shutdown();
    });
    const target = `127.0.0.1:${app.port}`;
    const scrape = { job: JOB, credentials: TEST_ADMIN_KEY, port: promPort };
    prometheus = await startPrometheus(target, scrape);

    const status = async (): Promise<PolicyStatus> => {
      const res = await fetch(`http://127.0.0.1:${app.port}/v1/autoscaler`, {
        headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
      });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { policies: PolicyStatus[] };
      return body.policies.find((p) => p.policy === 'fleet')!;
    };
    const scales = (s: PolicyStatus, after = 0) =>
      s.history.filter((d) => d.kind === 'scale' && d.at >= after);
    const agents = await Promise.all([1, 2, 3].map(() => app.runtime.spawn(load.definition)));

    // Idle: Prometheus has scraped the node, the policy reads 0 running steps and stays at min.
    const idle = await until(status, (s) => s.state === 'ok' && s.reason.startsWith('steady'));
    assert.equal(idle.current, 1);
    assert.deepEqual(scales(idle), []);

    // A load step: three steps running. The rule holds first, and fires only after FOR_MS.
    const loadStart = Date.now();
    load.on(agents);
    const up = await until(status, (s) => scales(s, loadStart).length === 1);
    const [scaleUp] = scales(up, loadStart);
    assert.equal(scaleUp!.from, 1);
    assert.equal(scaleUp!.to, 2);
    assert.equal(scaleUp!.rule, 'busy');
    assert.match(scaleUp!.reason, /held for 1500 ms/);
    const held = up.history.find((d) => d.at >= loadStart && d.state === 'holding');
    assert.ok(held !== undefined, `no holding before the scale: ${JSON.stringify(up.history)}`);
    assert.ok(held.at < scaleUp!.at && held.from === 1);
    assert.ok(scaleUp!.at - held.at >= FOR_MS, `fired ${scaleUp!.at - held.at} ms after it began to hold`);
    assert.equal(up.current, 2);
    // The desired size is on /metrics, so Prometheus (or KEDA) sees it too.
    await until(
      () => prometheus!.query(`agentfleet_autoscaler_desired_replicas{job="${JOB}",policy="fleet"}`),
      (samples) => samples[0]?.value === 2,
    );

    // An oscillating load (off-phases well inside the stabilisation window): it wants fewer at
    // every pause, but never scales down.
    const oscillationStart = Date.now();
    for (let cycle = 0; cycle < 3; cycle++) {
      await load.off();
      await sleep(1200);
      load.on(agents);
      await sleep(1500);
    }
    const oscillated = await status();
    assert.deepEqual(scales(oscillated, oscillationStart), [], JSON.stringify(oscillated.history));
    assert.equal(oscillated.current, 2);
    assert.ok(
      oscillated.history.some(
        (d) => d.at >= oscillationStart && d.state === 'stabilising' && d.desired === 1,
      ),
      `never wanted fewer during the pauses: ${JSON.stringify(oscillated.history)}`,
    );

    // Prometheus stops under load: the size stays (longer than the window would take to scale
    // it down), and the status says why. (Its first failed read may come while it is still
    // shutting down: nothing before the stop was unavailable.)
    await prometheus.stop();
    const down = await until(
      status,
      (s) => {
        const last = s.history.at(-1);
        return last?.state === 'source-unavailable' && last.lastAt - last.at > WINDOW_MS;
      },
      60_000,
    );
    const downAt = down.history.at(-1)!.at;
    assert.equal(down.state, 'source-unavailable');
    assert.match(down.reason, /^source-unavailable: Prometheus at http:\/\/127\.0\.0\.1:\d+ is unreachable/);
    assert.equal(down.current, 2);
    assert.deepEqual(scales(down, oscillationStart), []);

    // Prometheus is back at the same address: the policy reads again (load still on: steady at 2).
    // (It may read again before startPrometheus resolves: compare with the outage, not the clock.)
    prometheus = await startPrometheus(target, scrape);
    const back = await until(
      status,
      (s) => (s.history.at(-1)?.at ?? 0) > downAt && (s.state === 'ok' || s.state === 'holding'),
    );
    assert.equal(back.current, 2);

    // The load ends: it wants fewer at once, scales down only when the window has passed.
    const loadEnd = Date.now();
    await load.off();
    const after = await until(status, (s) => scales(s, loadEnd).length === 1, 60_000);
    const [scaleDown] = scales(after, loadEnd);
    assert.equal(scaleDown!.from, 2);
    assert.equal(scaleDown!.to, 1);
    assert.equal(scaleDown!.rule, 'idle');
    const before = after.history.slice(0, after.history.indexOf(scaleDown!));
    const stabilising = before.filter((d) => d.at >= loadEnd && d.state === 'stabilising');
    assert.ok(stabilising.length > 0, `scaled down without stabilising: ${JSON.stringify(after.history)}`);
    const lastWanted2 = before.findLast((d) => d.state !== 'stabilising')!;
    assert.equal(lastWanted2.desired, 2);
    assert.ok(
      scaleDown!.at - lastWanted2.lastAt > WINDOW_MS,
      `scaled down ${scaleDown!.at - lastWanted2.lastAt} ms after it last wanted 2`,
    );
    assert.equal(after.current, 1);
  });
});
