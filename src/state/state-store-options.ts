import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Bus } from '../bus/index.ts';
import { NODE_ID_PATTERN } from '../crdt/index.ts';
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
  /**
   * The rules of one agent's state when they are not the store's own: called (in the caller's
   * tenant) when an agent's state is created, e.g. to look up the agent's definition
   * (`AgentDefinition.state`). Returning undefined means `config`. A state keeps the rules it
   * was created with until it is deleted or expires. Default: every state uses `config`.
   */
  configFor?: (agentId: string) => StateSyncConfig | StateSyncConfigInput | undefined;
  /** Time source, ms. Default `Date.now`. Inject one for deterministic tests. */
  clock?: () => number;
  /** How often expired state is purged, ms; also the expiry wheel's slot width. Default 1000. */
  tickMs?: number;
  /** Most states purged per tick; the rest go on the next tick. Default 10,000. */
  maxExpiriesPerTick?: number;
  /**
   * This store's replica id in the CRDT fields it writes (1–64 of `A-Z a-z 0-9 _ - : @`),
   * unique among the stores that write one agent's state. Default `state-` and 8 random hex digits.
   */
  node?: string;
}

/** Options with defaults applied. */
export interface ResolvedStateStoreOptions {
  bus: Bus | undefined;
  config: StateSyncConfig;
  configFor: ((agentId: string) => StateSyncConfig | StateSyncConfigInput | undefined) | undefined;
  clock: () => number;
  tickMs: number;
  maxExpiriesPerTick: number;
  node: string;
}

const schema = z.object({
  bus: z
    .custom<Bus>((v) => typeof v === 'object' && v !== null && 'publish' in v && 'subscribe' in v, {
      message: 'expected a Bus (createBus())',
    })
    .optional(),
  config: z.unknown().optional(),
  configFor: z
    .custom<(agentId: string) => unknown>((v) => typeof v === 'function', { message: 'expected a function' })
    .optional(),
  clock: z
    .custom<() => number>((v) => typeof v === 'function', { message: 'expected a function returning ms' })
    .optional(),
  tickMs: z.number().int().min(1).max(3_600_000).optional(),
  maxExpiriesPerTick: z.number().int().min(1).max(100_000_000).optional(),
  node: z.string().regex(NODE_ID_PATTERN, '1-64 of A-Z a-z 0-9 _ - : @').optional(),
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
    configFor: o.configFor as ResolvedStateStoreOptions['configFor'],
    clock: o.clock ?? Date.now,
    tickMs: o.tickMs ?? 1000,
    maxExpiriesPerTick: o.maxExpiriesPerTick ?? 10_000,
    node: o.node ?? `state-${randomBytes(4).toString('hex')}`,
  };
}
