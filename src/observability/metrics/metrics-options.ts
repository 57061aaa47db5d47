import { z } from 'zod';
import type { Bus } from '../../bus/index.ts';
import { TENANT_ID_PATTERN } from '../../context/index.ts';
import type { Runtime } from '../../core/index.ts';

/** Options for `createMetrics()`. */
export interface MetricsOptions {
  /** Agents, transitions and pool figures are read from its `stats()` at each scrape. */
  runtime?: Runtime;
  /** Bus figures are read from its `stats()` at each scrape, labelled by `transport`. */
  bus?: Bus;
  /** Prepended to every Agentfleet metric name (not to the `process_*` / `nodejs_*` ones). Default `agentfleet_`. */
  prefix?: string;
  /** Also export Node.js process metrics: CPU, memory, heap, GC, event loop lag, handles, … Default true. */
  defaultMetrics?: boolean;
  /**
   * Tenants that get their own `tenant` label (agents and messages in flight). Every other
   * tenant stays unlabelled, so series stay bounded however many tenants exist. Default none.
   */
  labelTenants?: string[];
  /** Distinct values kept per label (provider, model, tool, definition, outcome); later ones become `other`. Default 100. */
  maxLabelValues?: number;
}

const METRIC_PREFIX = /^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/;

export const metricsOptionsSchema = z.strictObject({
  runtime: z
    .custom<Runtime>((v) => typeof (v as Runtime | undefined)?.stats === 'function', {
      message: 'expected a Runtime',
    })
    .optional(),
  bus: z
    .custom<Bus>(
      (v) =>
        typeof (v as Bus | undefined)?.stats === 'function' && typeof (v as Bus).transport?.name === 'string',
      { message: 'expected a Bus' },
    )
    .optional(),
  prefix: z
    .string()
    .max(64)
    .regex(METRIC_PREFIX, 'must be a valid Prometheus metric name prefix')
    .default('agentfleet_'),
  defaultMetrics: z.boolean().default(true),
  labelTenants: z.array(z.string().regex(TENANT_ID_PATTERN, 'must be a tenant id')).max(100).default([]),
  maxLabelValues: z.number().int().min(1).max(10_000).default(100),
});

export type ParsedMetricsOptions = z.output<typeof metricsOptionsSchema>;
