import { z } from 'zod';
import type { WorkerPool, WorkerPoolOptions } from '../pool/index.ts';
import { DEFAULT_MAX_CONFIG_BYTES } from './agent-definition.ts';
import type { TenantAdmission } from './tenant-ledger.ts';

/** The plain-value options of `createRuntime()`, with their defaults: the one place both are defined. */
export const runtimeOptionsSchema = z.object({
  /** Milliseconds `stop()` waits for in-flight messages and `onStop` before forcing. Default 5,000. */
  stopTimeoutMs: z.number().int().min(0).max(86_400_000).default(5_000),
  /** Messages that may wait in one agent's mailbox, unless its definition says otherwise. Default 1,024. */
  mailboxCapacity: z.number().int().min(0).max(100_000_000).default(1_024),
  /**
   * Largest config, in bytes of JSON, accepted for an agent whose definition declares no
   * `config` schema (such a config is kept as given). Default 65,536.
   */
  maxConfigBytes: z
    .number()
    .int()
    .min(0)
    .max(1024 ** 3)
    .default(DEFAULT_MAX_CONFIG_BYTES),
});

/** Options for `createRuntime()`: the schema's plain values, plus the objects it cannot describe. */
export type RuntimeOptions = z.input<typeof runtimeOptionsSchema> & {
  /**
   * The pool agent steps run on: a `WorkerPool` you own (the runtime will not close it),
   * or options for one the runtime creates and closes. Default: capacity 1024, queue 10,000, wait when full.
   */
  pool?: WorkerPool | WorkerPoolOptions;
  /** Per-tenant quotas on agents and messages in flight (e.g. a `TenantQuotaGate`). Default: none. */
  admission?: TenantAdmission;
};
