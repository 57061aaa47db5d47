import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { AbortedError, formatIssues } from '../errors/index.ts';
import { STATE_CRDT_KINDS } from './crdt-fields.ts';
import { StateConfigInvalidError } from './errors.ts';

/** Context tags: a lowercase letter, then up to 63 lowercase letters, digits or `_`. */
export const TAG_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;
/** Longest state field name, in characters. */
export const MAX_FIELD_NAME_LENGTH = 256;
/** Longest TTL a rule may give, in ms (7 days). */
export const MAX_TTL_MS = 7 * 24 * 3_600_000;

/** Which tags a TTL rule needs: at least one of `anyTag`, and every one of `allTags` (both, if both given). */
export interface TtlCondition {
  anyTag?: string[];
  allTags?: string[];
}

/** One TTL rule: when the agent's current tags satisfy `when`, its state lives `ttlMs` after each touch. */
export interface TtlRule {
  when: TtlCondition;
  /** Milliseconds, 1 ms to 7 days. */
  ttlMs: number;
  /** Reported in expiry events; default `rule-<index>`. Unique; `default` is reserved. */
  name?: string;
}

/** The seed's relevance table (CONTEXT_SCHEMA): which fields matter under which context tag. */
export const DEFAULT_RELEVANCE: Readonly<Record<string, readonly string[]>> = Object.freeze({
  low_battery: Object.freeze(['battery_level', 'charging_status']),
  navigation: Object.freeze(['position', 'heading', 'speed']),
});

/** The seed's TTL table as ordered rules: emergency 5 s, user_active 30 s, idle_background 300 s. */
export const DEFAULT_TTL_RULES: readonly Readonly<TtlRule>[] = Object.freeze([
  Object.freeze({ name: 'emergency', when: { anyTag: ['emergency'] }, ttlMs: 5_000 }),
  Object.freeze({ name: 'user_active', when: { anyTag: ['user_active'] }, ttlMs: 30_000 }),
  Object.freeze({ name: 'idle_background', when: { anyTag: ['idle_background'] }, ttlMs: 300_000 }),
]);

/** TTL when no rule matches: 60 s. */
export const DEFAULT_TTL_MS = 60_000;

const TAG_RULE = 'a tag is a lowercase letter then up to 63 of a-z, 0-9, _';
const tag = z.string().regex(TAG_PATTERN, TAG_RULE);
const field = z.string().min(1).max(MAX_FIELD_NAME_LENGTH);
const ttlMs = z.number().int().min(1).max(MAX_TTL_MS);
const tagList = z.array(tag).min(1).max(64);

const ruleSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, '1-64 letters, digits, _ or -')
    .optional(),
  when: z
    .strictObject({ anyTag: tagList.optional(), allTags: tagList.optional() })
    .refine((w) => w.anyTag !== undefined || w.allTags !== undefined, 'give anyTag, allTags or both'),
  ttlMs,
});

/** Validates a state-sync configuration; every section has defaults (the seed's tables). */
export const stateSyncConfigSchema = z
  .strictObject({
    /** Tag → the fields relevant while the agent has that tag. Default: the seed's CONTEXT_SCHEMA. */
    relevance: z
      .record(tag, z.array(field).max(4096))
      .default(() => structuredClone(DEFAULT_RELEVANCE) as Record<string, string[]>),
    /** Fields relevant whatever the tags. Default none. */
    alwaysRelevant: z.array(field).max(4096).default([]),
    /**
     * Fields that are CRDTs, by kind (`g-counter`, `pn-counter`, `lww-register`, `or-set`):
     * such a field holds the CRDT's JSON state, and a write merges into it (a state or delta
     * of that kind) instead of replacing it, so concurrent writers lose nothing. Default none.
     */
    crdt: z
      .record(field, z.enum(STATE_CRDT_KINDS))
      .refine((c) => Object.keys(c).length <= 4096, 'at most 4,096 fields')
      .default({}),
    ttl: z
      .strictObject({
        /** Ordered: the first rule whose condition holds decides. Default: the seed's table. */
        rules: z
          .array(ruleSchema)
          .max(1024)
          .default(() => structuredClone(DEFAULT_TTL_RULES) as TtlRule[]),
        /** When no rule matches, ms. Default 60 s. */
        defaultTtlMs: ttlMs.default(DEFAULT_TTL_MS),
      })
      .prefault({}),
    limits: z
      .strictObject({
        /** Fields per agent state. Default 256. */
        maxKeys: z.number().int().min(1).max(1_000_000).default(256),
        /** UTF-8 bytes of the whole state as JSON. Default 64 KiB. */
        maxBytes: z
          .number()
          .int()
          .min(2)
          .max(64 * 1024 * 1024)
          .default(64 * 1024),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    const seen = new Map<string, number>();
    config.ttl.rules.forEach((rule, index) => {
      if (rule.name === undefined) return;
      const path = ['ttl', 'rules', index, 'name'];
      if (rule.name === 'default') ctx.addIssue({ code: 'custom', path, message: '"default" is reserved' });
      const first = seen.get(rule.name);
      if (first !== undefined)
        ctx.addIssue({ code: 'custom', path, message: `duplicate name (also ttl.rules.${first})` });
      else seen.set(rule.name, index);
    });
    for (let index = 0; index < config.ttl.rules.length; index++) {
      const earlier = shadowedBy(config.ttl.rules, index);
      if (earlier !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['ttl', 'rules', index, 'when'],
          message: `never matches: ttl.rules.${earlier} matches first whenever it would`,
        });
    }
  });

/** A validated state-sync configuration, defaults filled in. */
export type StateSyncConfig = z.output<typeof stateSyncConfigSchema>;
/** What `parseStateSyncConfig` accepts (every section optional). */
export type StateSyncConfigInput = z.input<typeof stateSyncConfigSchema>;

/** The configuration with every default: the seed's relevance and TTL tables, 256 keys, 64 KiB. */
export const DEFAULT_STATE_SYNC_CONFIG: StateSyncConfig = deepFreeze(stateSyncConfigSchema.parse({}));

/**
 * Validates a configuration (e.g. parsed from a file) and fills in defaults.
 * @throws StateConfigInvalidError naming each bad value by its path (`ttl.rules.2.ttlMs: ...`).
 */
export function parseStateSyncConfig(raw: unknown, source?: string): StateSyncConfig {
  const result = stateSyncConfigSchema.safeParse(raw ?? {});
  if (!result.success) throw new StateConfigInvalidError(formatIssues(result.error), { source });
  return deepFreeze(result.data);
}

/**
 * Reads a JSON file and validates it as a state-sync configuration.
 * @throws StateConfigInvalidError when the file cannot be read, is not JSON, or is invalid.
 * @throws AbortedError when `signal` fires first.
 */
export async function loadStateSyncConfig(path: string, signal?: AbortSignal): Promise<StateSyncConfig> {
  let text: string;
  try {
    text = await readFile(path, { encoding: 'utf8', signal });
  } catch (error) {
    if (signal?.aborted)
      throw new AbortedError('Loading the state-sync configuration was aborted.', { cause: error });
    throw new StateConfigInvalidError([`cannot read the file: ${(error as Error).message}`], {
      source: path,
      cause: error,
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new StateConfigInvalidError([`not valid JSON: ${(error as Error).message}`], {
      source: path,
      cause: error,
    });
  }
  return parseStateSyncConfig(raw, path);
}

/** Rule conditions only ask for tags (never their absence), so a rule is shadowed when an
 * earlier rule matches each smallest tag set that satisfies it. Returns that earlier index. */
function shadowedBy(rules: readonly TtlRule[], index: number): number | undefined {
  const when = (rules[index] as TtlRule).when;
  const all = when.allTags ?? [];
  const minimal = when.anyTag === undefined ? [all] : when.anyTag.map((t) => [...all, t]);
  for (let i = 0; i < index; i++) {
    const earlier = (rules[i] as TtlRule).when;
    if (minimal.every((tags) => conditionHolds(earlier, new Set(tags)))) return i;
  }
  return undefined;
}

/** True when `tags` satisfy the condition. */
export function conditionHolds(when: TtlCondition, tags: ReadonlySet<string>): boolean {
  if (when.allTags !== undefined) for (const t of when.allTags) if (!tags.has(t)) return false;
  if (when.anyTag === undefined) return true;
  for (const t of when.anyTag) if (tags.has(t)) return true;
  return false;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
