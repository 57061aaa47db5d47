import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { register as globalRegistry } from 'prom-client';
import { eventually, liveResources, throwsWithCode } from '../../../test/helpers.ts';
import { type Bus, createBus } from '../../bus/index.ts';
import { agentStepChannel, modelCallChannel, toolCallChannel } from '../../context/index.ts';
import { createRuntime, defineAgent, type Runtime } from '../../core/index.ts';
import { createMetrics, type Metrics } from './index.ts';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text exposition into samples, failing on any line it cannot read. */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `unparseable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The value of the one sample named `name` whose labels include `labels`; undefined if none. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value;
}

async function scrape(metrics: Metrics): Promise<Sample[]> {
  return parse(await metrics.render());
}

const echo = defineAgent({ name: 'echo', decide: (n: number) => n });
/** Steps that wait for `opened` (a gate the test opens), so the pool queue holds the rest. */
let opened: Promise<void> = Promise.resolve();
const gated = defineAgent({
  name: 'gated',
  decide: async (n: number) => {
    await opened;
    return n;
  },
});

let metrics: Metrics | undefined;
let runtime: Runtime | undefined;
let bus: Bus | undefined;
afterEach(async () => {
  metrics?.close();
  await runtime?.close({ timeoutMs: 200 });
  await bus?.close();
  metrics = runtime = bus = undefined;
});

describe('metrics: runtime and pool', () => {
  it('exports agents by state, transitions, creations and pool figures', async () => {
    runtime = createRuntime({ pool: { capacity: 8 } });
    metrics = createMetrics({ runtime, defaultMetrics: false });
    const agents = await Promise.all([1, 2, 3].map(() => runtime!.spawn(echo)));
    runtime.create(echo);
    await Promise.all(agents.map((a, i) => a.send(i)));
    await agents[0]!.stop();

    const s = await scrape(metrics);
    assert.equal(value(s, 'agentfleet_agents', { state: 'running' }), 2);
    assert.equal(value(s, 'agentfleet_agents', { state: 'pending' }), 1);
    assert.equal(value(s, 'agentfleet_agents', { state: 'stopped' }), 1);
    assert.equal(value(s, 'agentfleet_agent_transitions_total', { state: 'running' }), 3);
    assert.equal(value(s, 'agentfleet_agent_transitions_total', { state: 'stopped' }), 1);
    assert.equal(value(s, 'agentfleet_agents_created_total'), 4);
    assert.equal(value(s, 'agentfleet_agent_forced_stops_total'), 0);
    assert.equal(value(s, 'agentfleet_pool_capacity'), 8);
    assert.equal(value(s, 'agentfleet_pool_running'), 0);
    assert.equal(value(s, 'agentfleet_pool_queued'), 0);
    assert.ok(value(s, 'agentfleet_pool_tasks_total', { outcome: 'completed' })! >= 3);
    assert.equal(value(s, 'agentfleet_pool_tasks_total', { outcome: 'rejected' }), 0);
    // Counters keep counting across scrapes (they are set from running totals).
    await agents[1]!.send(9);
    const again = await scrape(metrics);
    assert.equal(
      value(again, 'agentfleet_pool_tasks_total', { outcome: 'completed' }),
      value(s, 'agentfleet_pool_tasks_total', { outcome: 'completed' })! + 1,
    );
  });

  it('exports the pool queue wait as a summary of seconds', async () => {
    runtime = createRuntime({ pool: { capacity: 1 } });
    metrics = createMetrics({ runtime, defaultMetrics: false });
    const gate = Promise.withResolvers<void>();
    opened = gate.promise;
    const agents = await Promise.all([1, 2, 3].map(() => runtime!.spawn(gated)));
    const sent = agents.map((a, i) => a.send(i));
    assert.equal(runtime.stats().pool.queued, 2, 'two steps wait behind the first');
    const before = parse(await metrics.render());
    assert.equal(value(before, 'agentfleet_pool_queue_wait_seconds_count'), 0);
    gate.resolve();
    await Promise.all(sent);
    const text = await metrics.render();
    assert.match(text, /# TYPE agentfleet_pool_queue_wait_seconds summary/);
    const s = parse(text);
    const { waitTimeMs } = runtime.stats().pool;
    assert.equal(value(s, 'agentfleet_pool_queue_wait_seconds_count'), 2);
    assert.equal(value(s, 'agentfleet_pool_queue_wait_seconds_sum'), waitTimeMs.total / 1000);
    assert.equal(value(s, 'agentfleet_pool_queue_wait_max_seconds'), waitTimeMs.max / 1000);
    assert.ok(waitTimeMs.max > 0 && waitTimeMs.max <= waitTimeMs.total);
  });

  it('labels only the tenants in labelTenants', async () => {
    runtime = createRuntime();
    metrics = createMetrics({ runtime, labelTenants: ['acme'], defaultMetrics: false });
    await runtime.spawn(echo, { tenant: 'acme' });
    await runtime.spawn(echo, { tenant: 'acme' });
    await runtime.spawn(echo, { tenant: 'globex' });
    const s = await scrape(metrics);
    assert.equal(value(s, 'agentfleet_tenant_agents', { tenant: 'acme' }), 2);
    assert.equal(value(s, 'agentfleet_tenant_messages_in_flight', { tenant: 'acme' }), 0);
    assert.equal(
      s.some((x) => x.labels.tenant === 'globex'),
      false,
    );
    const none = createMetrics({ runtime, defaultMetrics: false });
    assert.doesNotMatch(await none.render(), /tenant/);
    none.close();
  });
});

describe('metrics: bus', () => {
  it('exports bus counters and gauges labelled by transport', async () => {
    bus = createBus();
    metrics = createMetrics({ bus, defaultMetrics: false });
    let handled = 0;
    await bus.subscribe('ok', () => void handled++);
    await bus.subscribe('bad', () => {
      throw new Error('boom');
    });
    await bus.publish('ok', 1);
    await bus.publish('ok', 2);
    await bus.publish('bad', 3);
    await eventually(() => handled === 2 && bus!.stats().failed === 1);
    const s = await scrape(metrics);
    const memory = { transport: 'memory' };
    assert.equal(value(s, 'agentfleet_bus_messages_published_total', memory), 3);
    assert.equal(value(s, 'agentfleet_bus_messages_received_total', memory), 3);
    assert.equal(value(s, 'agentfleet_bus_messages_delivered_total', memory), 2);
    assert.equal(value(s, 'agentfleet_bus_handler_failures_total', memory), 1);
    assert.equal(value(s, 'agentfleet_bus_messages_dropped_total', memory), 0);
    assert.equal(value(s, 'agentfleet_bus_messages_dead_lettered_total', memory), 0);
    assert.equal(value(s, 'agentfleet_bus_messages_duplicate_total', memory), 0);
    assert.equal(value(s, 'agentfleet_bus_messages_foreign_tenant_total', memory), 0);
    assert.equal(value(s, 'agentfleet_bus_subscriptions_lost_total', memory), 0);
    assert.equal(value(s, 'agentfleet_bus_subscriptions', memory), 2);
    assert.equal(value(s, 'agentfleet_bus_pending_requests', memory), 0);
  });
});

describe('metrics: model, tool and step events', () => {
  it('counts model calls, tokens and durations by provider and model', async () => {
    metrics = createMetrics({ defaultMetrics: false });
    const call = { provider: 'openai', model: 'gpt-x', mode: 'generate', inputTokens: 10, outputTokens: 4 };
    modelCallChannel.publish({ ...call, durationMs: 300, errorCode: undefined });
    modelCallChannel.publish({ ...call, durationMs: 1_500, errorCode: undefined });
    modelCallChannel.publish({
      ...call,
      mode: 'stream',
      durationMs: 90_000,
      inputTokens: undefined,
      outputTokens: undefined,
      errorCode: 'LLM_TIMEOUT',
    });
    const s = await scrape(metrics);
    const gpt = { provider: 'openai', model: 'gpt-x' };
    assert.equal(value(s, 'agentfleet_llm_requests_total', { ...gpt, mode: 'generate', outcome: 'ok' }), 2);
    assert.equal(
      value(s, 'agentfleet_llm_requests_total', { ...gpt, mode: 'stream', outcome: 'LLM_TIMEOUT' }),
      1,
    );
    assert.equal(value(s, 'agentfleet_llm_tokens_total', { ...gpt, type: 'input' }), 20);
    assert.equal(value(s, 'agentfleet_llm_tokens_total', { ...gpt, type: 'output' }), 8);
    assert.equal(value(s, 'agentfleet_llm_request_duration_seconds_bucket', { ...gpt, le: '0.05' }), 0);
    assert.equal(value(s, 'agentfleet_llm_request_duration_seconds_bucket', { ...gpt, le: '0.5' }), 1);
    assert.equal(value(s, 'agentfleet_llm_request_duration_seconds_bucket', { ...gpt, le: '2' }), 2);
    assert.equal(value(s, 'agentfleet_llm_request_duration_seconds_bucket', { ...gpt, le: '60' }), 2);
    assert.equal(value(s, 'agentfleet_llm_request_duration_seconds_bucket', { ...gpt, le: '+Inf' }), 3);
    assert.equal(value(s, 'agentfleet_llm_request_duration_seconds_count', gpt), 3);
    assert.equal(value(s, 'agentfleet_llm_request_duration_seconds_sum', gpt), 91.8);
  });

  it('counts tool calls and agent steps with their durations', async () => {
    metrics = createMetrics({ defaultMetrics: false });
    toolCallChannel.publish({ tool: 'search', durationMs: 20, outcome: 'ok' });
    toolCallChannel.publish({ tool: 'search', durationMs: 30_000, outcome: 'TOOL_TIMEOUT' });
    agentStepChannel.publish({ definition: 'planner', durationMs: 0.05, ok: true });
    agentStepChannel.publish({ definition: 'planner', durationMs: 3, ok: false });
    const s = await scrape(metrics);
    assert.equal(value(s, 'agentfleet_tool_calls_total', { tool: 'search', outcome: 'ok' }), 1);
    assert.equal(value(s, 'agentfleet_tool_calls_total', { tool: 'search', outcome: 'TOOL_TIMEOUT' }), 1);
    assert.equal(
      value(s, 'agentfleet_tool_call_duration_seconds_bucket', { tool: 'search', le: '0.025' }),
      1,
    );
    assert.equal(value(s, 'agentfleet_tool_call_duration_seconds_count', { tool: 'search' }), 2);
    assert.equal(value(s, 'agentfleet_agent_steps_total', { definition: 'planner', outcome: 'ok' }), 1);
    assert.equal(value(s, 'agentfleet_agent_steps_total', { definition: 'planner', outcome: 'error' }), 1);
    assert.equal(
      value(s, 'agentfleet_agent_step_duration_seconds_bucket', { definition: 'planner', le: '0.0001' }),
      1,
    );
    assert.equal(
      value(s, 'agentfleet_agent_step_duration_seconds_bucket', { definition: 'planner', le: '0.0025' }),
      1,
    );
    assert.equal(
      value(s, 'agentfleet_agent_step_duration_seconds_bucket', { definition: 'planner', le: '0.005' }),
      2,
    );
  });

  it('counts the steps real agents publish', async () => {
    runtime = createRuntime();
    metrics = createMetrics({ runtime, defaultMetrics: false });
    const agent = await runtime.spawn(echo);
    await agent.send(1);
    await agent.send(2);
    const s = await scrape(metrics);
    assert.equal(value(s, 'agentfleet_agent_steps_total', { definition: 'echo', outcome: 'ok' }), 2);
    assert.equal(value(s, 'agentfleet_agent_step_duration_seconds_count', { definition: 'echo' }), 2);
  });

  it('ignores malformed events instead of throwing in the publisher', async () => {
    metrics = createMetrics({ defaultMetrics: false });
    for (const bad of [
      null,
      42,
      'x',
      {},
      { tool: 'a', durationMs: -1 },
      { tool: 'a', durationMs: Number.NaN },
    ]) {
      modelCallChannel.publish(bad);
      toolCallChannel.publish(bad);
      agentStepChannel.publish(bad);
    }
    toolCallChannel.publish({ tool: { toString: () => 'sneaky' }, durationMs: 1, outcome: 7 });
    const s = await scrape(metrics);
    assert.equal(value(s, 'agentfleet_llm_requests_total'), undefined);
    assert.equal(value(s, 'agentfleet_agent_steps_total'), undefined);
    assert.equal(value(s, 'agentfleet_tool_calls_total', { tool: 'unknown', outcome: 'unknown' }), 1);
  });

  it('caps distinct provider, model, tool and definition values; the rest become other', async () => {
    metrics = createMetrics({ defaultMetrics: false });
    for (let i = 0; i < 150; i++) {
      modelCallChannel.publish({
        provider: `p${i}`,
        model: `m${i}`,
        mode: 'generate',
        durationMs: 10,
        inputTokens: 1,
        outputTokens: 1,
        errorCode: i % 2 === 0 ? undefined : `E${i}`,
      });
      toolCallChannel.publish({ tool: `t${i}`, durationMs: 1, outcome: 'ok' });
      agentStepChannel.publish({ definition: `d${i}`, durationMs: 1, ok: true });
    }
    const s = await scrape(metrics);
    const distinct = (name: string, label: string) =>
      new Set(s.filter((x) => x.name === name).map((x) => x.labels[label]));
    for (const [name, label, first] of [
      ['agentfleet_llm_requests_total', 'provider', 'p0'],
      ['agentfleet_llm_requests_total', 'model', 'm0'],
      ['agentfleet_tool_calls_total', 'tool', 't0'],
      ['agentfleet_agent_steps_total', 'definition', 'd0'],
    ] as const) {
      const values = distinct(name, label);
      assert.equal(values.size, 101, `${name} ${label}`);
      assert.ok(values.has(first) && values.has('other'), `${name} ${label}`);
    }
    assert.equal(value(s, 'agentfleet_tool_calls_total', { tool: 'other' }), 50);
    assert.equal(value(s, 'agentfleet_agent_steps_total', { definition: 'other' }), 50);
    assert.ok(distinct('agentfleet_llm_requests_total', 'outcome').size <= 101);
    assert.equal(distinct('agentfleet_llm_request_duration_seconds_count', 'model').size, 101);

    const small = createMetrics({ defaultMetrics: false, maxLabelValues: 3 });
    for (const tool of ['a', 'b', 'c', 'd', 'e'])
      toolCallChannel.publish({ tool, durationMs: 1, outcome: 'ok' });
    const t = parse(await small.render());
    assert.deepEqual(
      t.filter((x) => x.name === 'agentfleet_tool_calls_total').map((x) => [x.labels.tool, x.value]),
      [
        ['a', 1],
        ['b', 1],
        ['c', 1],
        ['other', 2],
      ],
    );
    small.close();
  });
});

describe('metrics: Node.js and registry', () => {
  it('exports prom-client defaults (event loop lag, GC, heap) and event loop utilisation', async () => {
    metrics = createMetrics();
    await metrics.render(); // starts the event loop lag probe, a setImmediate
    await new Promise(setImmediate); // queued behind the probe: it has run
    const text = await metrics.render();
    for (const name of [
      'nodejs_eventloop_utilization_ratio',
      'nodejs_eventloop_lag_seconds',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_gc_duration_seconds',
      'nodejs_heap_size_used_bytes',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_version_info',
    ]) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
    const s = parse(text);
    const elu = value(s, 'nodejs_eventloop_utilization_ratio')!;
    assert.ok(elu >= 0 && elu <= 1, `utilisation ${elu}`);
    assert.ok(value(s, 'nodejs_eventloop_lag_seconds')! >= 0);
    assert.ok(value(s, 'nodejs_heap_size_used_bytes')! > 0);
  });

  it('without defaultMetrics exports only the utilisation gauge for Node.js', async () => {
    metrics = createMetrics({ defaultMetrics: false });
    const names = new Set([...(await metrics.render()).matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]));
    assert.ok(names.has('nodejs_eventloop_utilization_ratio'));
    assert.equal([...names].filter((n) => n!.startsWith('process_') || n!.startsWith('nodejs_')).length, 1);
  });

  it('uses its own registry, a prefix and the Prometheus content type', async () => {
    runtime = createRuntime();
    const before = globalRegistry.getMetricsAsArray().length;
    metrics = createMetrics({ runtime, prefix: 'af_' });
    const other = createMetrics({ runtime });
    assert.notEqual(metrics.registry, globalRegistry);
    assert.notEqual(metrics.registry, other.registry);
    assert.equal(globalRegistry.getMetricsAsArray().length, before);
    assert.equal(metrics.contentType, 'text/plain; version=0.0.4; charset=utf-8');
    const text = await metrics.render();
    assert.match(text, /^af_agents\{state="running"\} 0$/m);
    assert.doesNotMatch(text, /agentfleet_/);
    other.close();
  });

  it('rejects bad options with INVALID_OPTIONS', () => {
    throwsWithCode(() => createMetrics({ prefix: 'bad-prefix' }), 'INVALID_OPTIONS');
    throwsWithCode(() => createMetrics({ labelTenants: ['no spaces'] }), 'INVALID_OPTIONS');
    throwsWithCode(
      () => createMetrics({ labelTenants: Array.from({ length: 101 }, (_, i) => `t${i}`) }),
      'INVALID_OPTIONS',
    );
    throwsWithCode(() => createMetrics({ maxLabelValues: 0 }), 'INVALID_OPTIONS');
    throwsWithCode(() => createMetrics({ runtime: {} as Runtime }), 'INVALID_OPTIONS');
    throwsWithCode(() => createMetrics({ bus: {} as Bus }), 'INVALID_OPTIONS');
    throwsWithCode(() => createMetrics({ prefx: 'x' } as never), 'INVALID_OPTIONS');
  });
});

describe('metrics: close', () => {
  it('unsubscribes from the channels and leaves no resource behind', async () => {
    runtime = createRuntime();
    bus = createBus();
    const resources = liveResources();
    const m = createMetrics({ runtime, bus });
    assert.equal(modelCallChannel.hasSubscribers, true);
    assert.equal(toolCallChannel.hasSubscribers, true);
    assert.equal(agentStepChannel.hasSubscribers, true);
    await m.render(); // leaves the event loop lag probe (a setImmediate) pending
    assert.equal(liveResources().Immediate, (resources.Immediate ?? 0) + 1);
    m.close();
    m.close();
    assert.deepEqual(liveResources(), resources);
    assert.equal(modelCallChannel.hasSubscribers, false);
    assert.equal(toolCallChannel.hasSubscribers, false);
    assert.equal(agentStepChannel.hasSubscribers, false);
  });
});
