import { z } from 'zod';
import type { WorkerPool, WorkerPoolOptions } from '../pool/index.ts';
import { DEFAULT_MAX_CONFIG_BYTES } from './agent-definition.ts';
import type { TenantAdmission } from './tenant-ledger.ts';

/** Options for `createRuntime()`. */
export interface RuntimeOptions {
  /**
   * The pool agent steps run on: a `WorkerPool` you own (the runtime will not close it),
   * or options for one the runtime creates and closes. Default: capacity 1024, queue 10,000, wait when full.
   */
  pool?: WorkerPool | Partial<WorkerPoolOptions>;
  /** Milliseconds `stop()` waits for in-flight messages and `onStop` before forcing. Default 5,000. */
  stopTimeoutMs?: number;
  /** Messages that may wait in one agent's mailbox, unless its definition says otherwise. Default 1,024. */
  mailboxCapacity?: number;
  /**
   * Largest config, in bytes of JSON, accepted for an agent whose definition declares no
   * `config` schema (such a config is kept as given). Default 65,536.
   */
  maxConfigBytes?: number;
  /** Per-tenant quotas on agents and messages in flight (e.g. a `TenantQuotaGate`). Default: none. */
  admission?: TenantAdmission;
}

export const runtimeOptionsSchema = z.object({
  stopTimeoutMs: z.number().int().min(0).max(86_400_000).default(5_000),
  mailboxCapacity: z.number().int().min(0).max(100_000_000).default(1_024),
  maxConfigBytes: z
    .number()
    .int()
    .min(0)
    .max(1024 ** 3)
    .default(DEFAULT_MAX_CONFIG_BYTES),
});
