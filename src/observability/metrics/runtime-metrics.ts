import { Counter, Gauge, type Registry } from 'prom-client';
import { AGENT_STATES, type Runtime, type RuntimeStats } from '../../core/index.ts';
import { CollectedSummary } from './collected-summary.ts';
import { perScrape } from './per-scrape.ts';

/**
 * Registers the runtime's and its pool's metrics. Nothing is counted on the hot path: every
 * value is read from `runtime.stats()` (once per scrape) in `collect()`. Counters are set
 * from the runtime's running totals, which only grow for the life of the runtime.
 */
export function registerRuntimeMetrics(
  registry: Registry,
  prefix: string,
  runtime: Runtime,
  labelTenants: readonly string[],
): void {
  const stats = perScrape((): RuntimeStats => runtime.stats());
  const registers = [registry];

  new Gauge({
    name: `${prefix}agents`,
    help: 'Agents in the registry now, by lifecycle state.',
    labelNames: ['state'],
    registers,
    collect() {
      const { agents } = stats();
      for (const state of AGENT_STATES) this.set({ state }, agents[state]);
    },
  });
  new Counter({
    name: `${prefix}agent_transitions_total`,
    help: 'Lifecycle transitions since the runtime started, by the state entered.',
    labelNames: ['state'],
    registers,
    collect() {
      const { transitions } = stats();
      this.reset();
      for (const state of AGENT_STATES) this.inc({ state }, transitions[state]);
    },
  });
  counterFrom(
    registry,
    `${prefix}agent_forced_stops_total`,
    'Agent stops that hit their deadline and were forced.',
    () => stats().forcedStops,
  );
  counterFrom(
    registry,
    `${prefix}agents_created_total`,
    'Agents created since the runtime started.',
    () => stats().created,
  );

  if (labelTenants.length > 0) {
    new Gauge({
      name: `${prefix}tenant_agents`,
      help: 'Agents a tenant owns now (any state), for the tenants listed in labelTenants.',
      labelNames: ['tenant'],
      registers,
      collect() {
        for (const tenant of labelTenants) this.set({ tenant }, runtime.tenantUsage(tenant).agents);
      },
    });
    new Gauge({
      name: `${prefix}tenant_messages_in_flight`,
      help: 'Messages accepted for a tenant and not finished (queued or running), for the tenants listed in labelTenants.',
      labelNames: ['tenant'],
      registers,
      collect() {
        for (const tenant of labelTenants) this.set({ tenant }, runtime.tenantUsage(tenant).inFlight);
      },
    });
  }

  gaugeFrom(
    registry,
    `${prefix}pool_capacity`,
    'Agent steps the worker pool may run at once.',
    () => stats().pool.capacity,
  );
  gaugeFrom(
    registry,
    `${prefix}pool_running`,
    'Agent steps running on the worker pool now.',
    () => stats().pool.running,
  );
  gaugeFrom(
    registry,
    `${prefix}pool_queued`,
    'Tasks waiting for a free pool slot.',
    () => stats().pool.queued,
  );
  gaugeFrom(
    registry,
    `${prefix}pool_waiting`,
    'Callers waiting for room in the full pool queue (backpressure).',
    () => stats().pool.waiting,
  );
  new Counter({
    name: `${prefix}pool_tasks_total`,
    help: 'Pool submissions by outcome: completed, failed (threw), rejected (pool full or closed), aborted (signal fired before start).',
    labelNames: ['outcome'],
    registers,
    collect() {
      const { pool } = stats();
      this.reset();
      this.inc({ outcome: 'completed' }, pool.completed);
      this.inc({ outcome: 'failed' }, pool.failed);
      this.inc({ outcome: 'rejected' }, pool.rejected);
      this.inc({ outcome: 'aborted' }, pool.aborted);
    },
  });
  // The pool keeps only the count, total and max of queue waits (no per-wait hook to feed a
  // histogram, and adding one would cost the hot path), so the wait is exported as a summary
  // without quantiles: rate(_sum) / rate(_count) is the mean wait over any window.
  new CollectedSummary({
    name: `${prefix}pool_queue_wait_seconds`,
    help: 'Time tasks that had to queue waited for a pool slot.',
    registry,
    read: () => {
      const { waitTimeMs } = stats().pool;
      return [{ labels: {}, sum: waitTimeMs.total / 1000, count: waitTimeMs.count }];
    },
  });
  gaugeFrom(
    registry,
    `${prefix}pool_queue_wait_max_seconds`,
    'Longest time a task waited for a pool slot since the pool started.',
    () => stats().pool.waitTimeMs.max / 1000,
  );
}

/** A label-less gauge set from `read()` at each scrape. */
export function gaugeFrom(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/** A label-less counter set from a running total at each scrape. */
export function counterFrom(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}
