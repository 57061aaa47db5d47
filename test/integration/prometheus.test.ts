// The exposition checked by a real Prometheus: it scrapes a running Agentfleet server's
// /metrics every second (with the admin key as bearer credentials) and the test asks it, over
// its HTTP API, for the series the runtime, the bus and the event channels should produce.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { loadServerConfig } from '../../src/config/index.ts';
import { modelCallChannel } from '../../src/context/index.ts';
import { defineAgent } from '../../src/core/index.ts';
import { type RunningServer, startServer } from '../../src/server/index.ts';
import { TEST_ADMIN_KEY } from '../server-auth.ts';
import { ensurePrometheus, type PrometheusServer, startPrometheus, until } from './prometheus-server.ts';

const skip = await ensurePrometheus();

const echo = defineAgent({ name: 'echo', decide: (n: number) => n });
const JOB = 'agentfleet';

describe('Prometheus scrapes /metrics', { skip, timeout: 120_000 }, () => {
  let app: RunningServer;
  let prometheus: PrometheusServer;
  /** The one sample a query returns (failing on more), or undefined. */
  const one = async (promql: string): Promise<number | undefined> => {
    const samples = await prometheus.query(promql);
    assert.ok(samples.length <= 1, `${promql} returned ${samples.length} series`);
    return samples[0]?.value;
  };

  before(async () => {
    app = await startServer(
      loadServerConfig({}, { port: 0, host: '127.0.0.1', logLevel: 'silent', adminKey: TEST_ADMIN_KEY }),
      pino({ level: 'silent' }),
    );
    prometheus = await startPrometheus(`127.0.0.1:${app.port}`, { job: JOB, credentials: TEST_ADMIN_KEY });
  });

  after(async () => {
    await prometheus?.stop();
    await app?.shutdown();
  });

  it('scrapes the target with the admin key, without errors', async () => {
    assert.equal((await fetch(`http://127.0.0.1:${app.port}/metrics`)).status, 401);
    await until(
      () => one(`up{job="${JOB}"}`),
      (up) => up === 1,
    );
    const response = await fetch(`${prometheus.url}/api/v1/targets?state=active`);
    const targets = (await response.json()) as {
      data: { activeTargets: Array<{ labels: { job: string }; health: string; lastError: string }> };
    };
    const target = targets.data.activeTargets.find((t) => t.labels.job === JOB);
    assert.equal(target?.health, 'up');
    assert.equal(target?.lastError, '');
    assert.ok((await one(`scrape_samples_scraped{job="${JOB}"}`))! > 100);
  });

  it('sees agents by state and the steps they ran', async () => {
    const agents = await Promise.all([1, 2, 3, 4].map(() => app.runtime.spawn(echo)));
    await agents[3]!.stop();
    for (let i = 0; i < 25; i++) await agents[i % 3]!.send(i);
    await app.bus.publish('metrics.test', { hello: 'prometheus' });

    // The act agent the server runs, plus three echo agents.
    await until(
      () => one(`agentfleet_agents{job="${JOB}",state="running"}`),
      (n) => n === 4,
    );
    assert.equal(await one(`agentfleet_agents{job="${JOB}",state="stopped"}`), 1);
    assert.ok((await one(`agentfleet_agents_created_total{job="${JOB}"}`))! >= 5);
    await until(
      () => one(`agentfleet_agent_steps_total{job="${JOB}",definition="echo",outcome="ok"}`),
      (n) => n === 25,
    );
    assert.equal(
      await one(`agentfleet_agent_step_duration_seconds_count{job="${JOB}",definition="echo"}`),
      25,
    );
    assert.ok((await one(`agentfleet_bus_messages_published_total{job="${JOB}",transport="memory"}`))! >= 1);
    assert.ok((await one(`agentfleet_pool_tasks_total{job="${JOB}",outcome="completed"}`))! >= 25);
    assert.notEqual(await one(`agentfleet_pool_queue_wait_seconds_count{job="${JOB}"}`), undefined);
    const elu = await one(`nodejs_eventloop_utilization_ratio{job="${JOB}"}`);
    assert.ok(elu !== undefined && elu >= 0 && elu <= 1, `utilisation ${elu}`);
    assert.notEqual(await one(`nodejs_eventloop_lag_p99_seconds{job="${JOB}"}`), undefined);
    assert.notEqual(await one(`nodejs_heap_size_used_bytes{job="${JOB}"}`), undefined);
  });

  it('computes quantiles from the LLM duration histogram', async () => {
    const call = {
      provider: 'openai',
      model: 'gpt-test',
      mode: 'generate',
      durationMs: 1_500,
      inputTokens: 100,
      outputTokens: 20,
      errorCode: undefined,
    };
    const labels = `job="${JOB}",provider="openai",model="gpt-test"`;
    const requests = `agentfleet_llm_requests_total{${labels},mode="generate",outcome="ok"}`;
    // rate() only sees increases between scrapes, so the series must be scraped once first.
    modelCallChannel.publish(call);
    await until(
      () => one(requests),
      (n) => n === 1,
    );
    for (let i = 0; i < 20; i++) modelCallChannel.publish(call);
    // Every call falls in the (1, 2] s bucket; Prometheus interpolates linearly inside it.
    const median = await until(
      () =>
        one(
          `histogram_quantile(0.5, sum by (le) (rate(agentfleet_llm_request_duration_seconds_bucket{${labels}}[1m])))`,
        ),
      (q) => q !== undefined && Number.isFinite(q),
    );
    assert.ok(Math.abs(median! - 1.5) < 1e-9, `median ${median}`);
    const p99 = await one(
      `histogram_quantile(0.99, sum by (le) (rate(agentfleet_llm_request_duration_seconds_bucket{${labels}}[1m])))`,
    );
    assert.ok(Math.abs(p99! - 1.99) < 1e-9, `p99 ${p99}`);
    assert.equal(await one(requests), 21);
    assert.equal(await one(`agentfleet_llm_tokens_total{${labels},type="input"}`), 2_100);
    assert.equal(await one(`agentfleet_llm_tokens_total{${labels},type="output"}`), 420);
  });
});
