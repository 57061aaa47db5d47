import { z } from 'zod';
import type { Bus } from '../bus/index.ts';
import { parseOptions } from '../errors/index.ts';
import {
  DEFAULT_STATE_SYNC_CONFIG,
  parseStateSyncConfig,
  type StateSyncConfig,
  type StateSyncConfigInput,
} from './state-schema.ts';

/** Options of `createStateStore`. */
export interface StateStoreOptions {
  /** Where deltas and expiry notices are published and snapshot requests answered. Default: none (local only). */
  bus?: Bus;
  /** Relevance, TTL rules and limits; validated here. Default `DEFAULT_STATE_SYNC_CONFIG`. */
  config?: StateSyncConfig | StateSyncConfigInput;
  /** Time source, ms. Default `Date.now`. Inject one for deterministic tests. */
  clock?: () => number;
  /** How often expired state is purged, ms; also the expiry wheel's slot width. Default 1000. */
  tickMs?: number;
  /** Most states purged per tick; the rest go on the next tick. Default 10,000. */
  maxExpiriesPerTick?: number;
}

/** Options with defaults applied. */
export interface ResolvedStateStoreOptions {
  bus: Bus | undefined;
  config: StateSyncConfig;
  clock: () => number;
  tickMs: number;
  maxExpiriesPerTick: number;
}

const schema = z.object({
  bus: z
    .custom<Bus>((v) => typeof v === 'object' && v !== null && 'publish' in v && 'subscribe' in v, {
      message: 'expected a Bus (createBus())',
    })
    .optional(),
  config: z.unknown().optional(),
  clock: z
    .custom<() => number>((v) => typeof v === 'function', { message: 'expected a function returning ms' })
    .optional(),
  tickMs: z.number().int().min(1).max(3_600_000).optional(),
  maxExpiriesPerTick: z.number().int().min(1).max(100_000_000).optional(),
});

/** @throws InvalidOptionsError for bad options, StateConfigInvalidError for a bad `config`. */
export function resolveStateStoreOptions(options: StateStoreOptions | undefined): ResolvedStateStoreOptions {
  const o = parseOptions('createStateStore', schema, options);
  return {
    bus: o.bus,
    config:
      o.config === undefined || o.config === DEFAULT_STATE_SYNC_CONFIG
        ? DEFAULT_STATE_SYNC_CONFIG
        : parseStateSyncConfig(o.config),
    clock: o.clock ?? Date.now,
    tickMs: o.tickMs ?? 1000,
    maxExpiriesPerTick: o.maxExpiriesPerTick ?? 10_000,
  };
}
