import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AgentInfo, RuntimeStats } from '../core/index.ts';
import { NodeMetricSource } from './node-metric-source.ts';

const agent = (definition: string, queued: number, inFlight = 0): AgentInfo => ({
  id: `${definition}-${queued}`,
  definition,
  state: 'running',
  createdAt: 0,
  inFlight,
  queued,
  handled: 0,
  failedMessages: 0,
});

const stats = {
  agents: { pending: 1, running: 3, stopping: 0, stopped: 0, failed: 0 },
  transitions: { pending: 0, running: 0, stopping: 0, stopped: 0, failed: 0 },
  forcedStops: 0,
  created: 4,
  pool: {
    capacity: 8,
    running: 6,
    queued: 12,
    waiting: 2,
    completed: 0,
    failed: 0,
    rejected: 0,
    aborted: 0,
    waitTimeMs: { count: 0, total: 0, max: 0, mean: 0 },
  },
} satisfies RuntimeStats;

describe('NodeMetricSource', () => {
  it('reads pool, agent and mailbox figures, per definition too, and extra ones', async () => {
    let listed = 0;
    const source = new NodeMetricSource({
      runtime: {
        stats: () => stats,
        list: () => {
          listed++;
          return [agent('triage', 4, 1), agent('triage', 6), agent('billing', 9, 2)];
        },
      },
      extra: { 'model.waiting': () => 7, 'tokens.perSecond': () => undefined },
    });
    const names = [
      'pool.utilisation',
      'pool.queued',
      'agents.running',
      'mailbox.depth',
      'mailbox.max',
      'mailbox.depth{definition="triage"}',
      'agents.inFlight{definition="billing"}',
      'model.waiting',
    ];
    const readings = await source.read(names);
    assert.deepEqual(
      readings.map((r) => r.value),
      [0.75, 12, 3, 19, 9, 10, 2, 7],
    );
    assert.equal(listed, 1, 'the agents are listed once per read');
    await source.read(['pool.running']);
    assert.equal(listed, 1, 'and not at all when no mailbox figure is asked');
    const [none] = await source.read(['tokens.perSecond']);
    assert.equal(none?.status, 'no-data');
    source.close();
  });

  it('measures the event loop and CPU over the interval between reads', async (t) => {
    const source = new NodeMetricSource();
    t.after(() => source.close());
    const names = ['eventloop.lagMs', 'eventloop.utilisation', 'cpu.utilisation', 'cpu.cores'];
    const first = await source.read(names);
    assert.equal(first[0]?.status, 'no-data', 'no delay sample before the histogram has run');
    // Busy, blocking the loop, until a read sees it (the histogram samples every 10 ms, and the
    // first sample after a read's reset is dropped by Node, so block twice per read).
    let readings = first;
    const seen = () => readings.every((r) => r.status === 'ok') && readings[0]!.value! > 0;
    for (let i = 0; i < 50 && !seen(); i++) {
      for (let j = 0; j < 2; j++) {
        const until = Date.now() + 30;
        while (Date.now() < until);
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
      readings = await source.read(names);
    }
    for (const r of readings) assert.equal(r.status, 'ok', r.query);
    const [lag, elu, cpu, cores] = readings.map((r) => r.value!);
    assert.ok(lag! > 0, `lag ${lag}`);
    assert.ok(elu! > 0 && elu! <= 1, `utilisation ${elu}`);
    assert.ok(cpu! > 0 && cpu! <= 1 && cores! >= cpu!, `cpu ${cpu}, cores ${cores}`);
    source.close();
    assert.equal(
      (await source.read(['eventloop.lagMs']))[0]?.status,
      'no-data',
      'closed: no figures, no histogram',
    );
  });

  it('reads an unknown name as AUTOSCALE_QUERY_INVALID listing the known ones, and a failing extra as unavailable', async () => {
    const source = new NodeMetricSource({
      extra: {
        broken: () => {
          throw new Error('no figures');
        },
      },
    });
    const [unknown, broken] = await source.read(['pool.queued', 'broken']);
    assert.equal(unknown?.error?.code, 'AUTOSCALE_QUERY_INVALID');
    assert.match(unknown!.error!.message, /no figure "pool.queued"; it has .*eventloop.lagMs.*broken/);
    assert.equal(broken?.error?.code, 'AUTOSCALE_SOURCE_UNAVAILABLE');
    source.close();
  });
});
