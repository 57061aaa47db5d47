import { Counter, Gauge, type Registry } from 'prom-client';
import type { Bus, BusStats } from '../../bus/index.ts';
import { perScrape } from './per-scrape.ts';

type BusCounter =
  | 'published'
  | 'received'
  | 'delivered'
  | 'dropped'
  | 'deadLettered'
  | 'failed'
  | 'duplicates'
  | 'foreign'
  | 'lost';

/** Counter name suffix and help for each running total in `bus.stats()`. */
const COUNTERS: ReadonlyArray<[BusCounter, string, string]> = [
  ['published', 'bus_messages_published_total', 'Messages published on the bus.'],
  ['received', 'bus_messages_received_total', 'Messages that arrived at a subscription from the transport.'],
  [
    'delivered',
    'bus_messages_delivered_total',
    'Messages handed to a subscriber (and, for handlers, handled without error).',
  ],
  [
    'dropped',
    'bus_messages_dropped_total',
    'Messages discarded because a subscription buffer was full or closed.',
  ],
  ['deadLettered', 'bus_messages_dead_lettered_total', 'Messages sent to the dead-letter topic.'],
  ['failed', 'bus_handler_failures_total', 'Subscription handler calls that threw or rejected.'],
  [
    'duplicates',
    'bus_messages_duplicate_total',
    'Redeliveries skipped because their id was already handled (dedupe).',
  ],
  [
    'foreign',
    'bus_messages_foreign_tenant_total',
    "Other tenants' messages filtered out of a tenant's subscription.",
  ],
  [
    'lost',
    'bus_subscriptions_lost_total',
    'Subscriptions the transport lost for good (SUBSCRIPTION_LOST: a deleted JetStream stream, say).',
  ],
];

/**
 * Registers the bus's metrics, labelled by `transport` (`memory`, `nats`, `mqtt`). Values are
 * read from `bus.stats()` once per scrape; nothing is counted on the publish path.
 */
export function registerBusMetrics(registry: Registry, prefix: string, bus: Bus): void {
  const stats = perScrape((): BusStats => bus.stats());
  const labels = { transport: bus.transport.name };
  const registers = [registry];
  for (const [field, suffix, help] of COUNTERS) {
    new Counter({
      name: `${prefix}${suffix}`,
      help,
      labelNames: ['transport'],
      registers,
      collect() {
        this.reset();
        this.inc(labels, stats()[field]);
      },
    });
  }
  new Gauge({
    name: `${prefix}bus_subscriptions`,
    help: 'Open bus subscriptions.',
    labelNames: ['transport'],
    registers,
    collect() {
      this.set(labels, stats().subscriptions);
    },
  });
  new Gauge({
    name: `${prefix}bus_pending_requests`,
    help: 'Bus requests waiting for a reply.',
    labelNames: ['transport'],
    registers,
    collect() {
      this.set(labels, stats().pendingRequests);
    },
  });
}
