import { z } from 'zod';
import { AgentfleetError, type AgentfleetErrorOptions } from '../errors/index.ts';
import type { SpecErrorCode } from './error-codes.ts';

/**
 * One change of the store, in the store's order: a tenant's spec text put, or removed (`text`
 * undefined). A value at a key that names no definition has no `tenant` and `name` (it was
 * reported as invalid first): only its revision counts.
 */
export interface DefinitionChange {
  /** Where the change is in the store's order: increasing over the whole store. */
  revision: number;
  tenant?: string;
  name?: string;
  /** The spec text as it was put; undefined when the definition was deleted (or its value is unusable). */
  text?: string;
  format?: 'json' | 'yaml';
}

/** What a watch is told, one call after the other (each awaited before the next). */
export interface DefinitionWatchHandlers {
  /** A change, in order. */
  change(change: DefinitionChange): Promise<void> | void;
  /** A value at `revision` that is not a tenant's definition (foreign or damaged): skipped. */
  invalid(error: DefinitionRecordInvalidError, revision: number): void;
}

/** A running watch: stopped by `close()`. */
export interface DefinitionWatch {
  close(): Promise<void>;
}

/**
 * Where a cluster keeps its tenants' definitions (their spec texts), shared by every node: each
 * node watches it and registers what it holds (see `TenantDefinitions`). One key per tenant and
 * name; every write and delete has a revision, increasing over the whole store, so that a node
 * can tell it has seen every change up to `head()`.
 */
export interface DefinitionStore {
  /** Writes the tenant's spec text `name`; returns its revision. */
  put(tenant: string, name: string, text: string, format: 'json' | 'yaml'): Promise<number>;
  /** The tenant's stored text `name`, or undefined. @throws DefinitionRecordInvalidError for an unusable value */
  get(
    tenant: string,
    name: string,
  ): Promise<{ text: string; format: 'json' | 'yaml'; revision: number } | undefined>;
  /** Deletes it; false when there was none. */
  delete(tenant: string, name: string): Promise<boolean>;
  /** Deletes every definition of the tenant (each watcher is told of each); returns how many there were. */
  purgeTenant(tenant: string): Promise<number>;
  /** The revision of the store's last change (0 when none). */
  head(): Promise<number>;
  /**
   * Tells `handlers` of every key's current value (a deleted one as removed), in revision order,
   * then of each change as it happens. Resolves once the watch is set up.
   */
  watch(handlers: DefinitionWatchHandlers): Promise<DefinitionWatch>;
  /** Stops every watch of this handle and releases what it opened. Idempotent. */
  close(): Promise<void>;
}

/** A value in the definitions store that is not a definition of the tenant its key names: never registered. */
export class DefinitionRecordInvalidError extends AgentfleetError<SpecErrorCode> {
  constructor(key: string, why: string) {
    super('DEFINITION_RECORD_INVALID', `The stored definition "${key}" is refused: ${why}.`, {
      details: { key },
    });
  }
}

/** The definitions store cannot be reached (or this node could not catch up with it). */
export class DefinitionStoreUnavailableError extends AgentfleetError<SpecErrorCode> {
  constructor(what: string, options?: AgentfleetErrorOptions) {
    super('DEFINITION_STORE_UNAVAILABLE', `The definitions store could not ${what}.`, options);
  }
}

/** Most bytes of one stored value (the text with its envelope). */
export const MAX_DEFINITION_VALUE_BYTES = 1_048_576;

const valueSchema = z.strictObject({
  v: z.literal(1),
  tenant: z.string().min(1).max(64),
  name: z.string().min(1).max(128),
  format: z.enum(['json', 'yaml']),
  text: z.string(),
});

// Keys: `d.<tenant>.<name>`, each token the value itself when plain (1-64 of A-Z, a-z, 0-9, _
// and -), else "=" and its base64url text: the scheme of the cluster's agent keys.
const PLAIN = /^[A-Za-z0-9_-]{1,64}$/;
const TOKEN = /^(?:[A-Za-z0-9_-]{1,64}|=[A-Za-z0-9_-]{1,400})$/;

function token(value: string): string {
  return PLAIN.test(value) ? value : `=${Buffer.from(value, 'utf8').toString('base64url')}`;
}

function fromToken(value: string): string {
  return value.startsWith('=') ? Buffer.from(value.slice(1), 'base64url').toString('utf8') : value;
}

/** `d.<tenant>.<name>`: the key of one tenant's definition. */
export function definitionKey(tenant: string, name: string): string {
  return `d.${token(tenant)}.${token(name)}`;
}

/** `d.<tenant>.*`: the filter of a tenant's keys. */
export function definitionTenantFilter(tenant: string): string {
  return `d.${token(tenant)}.*`;
}

/** The tenant and name a key names. @throws DefinitionRecordInvalidError for a key not of this scheme */
export function parseDefinitionKey(key: string): { tenant: string; name: string } {
  const parts = key.split('.');
  if (parts.length !== 3 || parts[0] !== 'd' || !TOKEN.test(parts[1]!) || !TOKEN.test(parts[2]!))
    throw new DefinitionRecordInvalidError(key, 'the key is not d.<tenant>.<name>');
  return { tenant: fromToken(parts[1]!), name: fromToken(parts[2]!) };
}

/** The stored value of a spec text (JSON naming its tenant and name, checked against its key on read). */
export function encodeDefinitionValue(
  tenant: string,
  name: string,
  text: string,
  format: 'json' | 'yaml',
): string {
  const value = JSON.stringify({ v: 1, tenant, name, format, text });
  if (Buffer.byteLength(value, 'utf8') > MAX_DEFINITION_VALUE_BYTES)
    throw new DefinitionRecordInvalidError(definitionKey(tenant, name), 'it is over 1 MiB');
  return value;
}

/**
 * The definition a stored value holds, checked: of the store's shape, and of the tenant and
 * name its key names (a value copied under another tenant's key is foreign).
 * @throws DefinitionRecordInvalidError
 */
export function decodeDefinitionValue(
  key: string,
  value: string,
): { tenant: string; name: string; text: string; format: 'json' | 'yaml' } {
  const named = parseDefinitionKey(key);
  if (Buffer.byteLength(value, 'utf8') > MAX_DEFINITION_VALUE_BYTES)
    throw new DefinitionRecordInvalidError(key, 'it is over 1 MiB');
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    throw new DefinitionRecordInvalidError(key, 'it is not JSON');
  }
  const parsed = valueSchema.safeParse(json);
  if (!parsed.success) throw new DefinitionRecordInvalidError(key, 'it is not a stored definition');
  if (parsed.data.tenant !== named.tenant || parsed.data.name !== named.name)
    throw new DefinitionRecordInvalidError(key, 'it names another tenant or definition than its key');
  return parsed.data;
}

/**
 * The change a stored value makes (`value` undefined for a delete or purge marker): a value that
 * is not a definition is reported to `handlers.invalid` and counts as its key's definition
 * removed (a key of no definition: as nothing but its revision).
 */
export function definitionChange(
  key: string,
  revision: number,
  value: string | undefined,
  handlers: Pick<DefinitionWatchHandlers, 'invalid'>,
): DefinitionChange {
  let named: { tenant: string; name: string };
  try {
    named = parseDefinitionKey(key);
  } catch (error) {
    handlers.invalid(error as DefinitionRecordInvalidError, revision);
    return { revision };
  }
  if (value === undefined) return { revision, ...named };
  try {
    const decoded = decodeDefinitionValue(key, value);
    return { revision, ...named, text: decoded.text, format: decoded.format };
  } catch (error) {
    handlers.invalid(error as DefinitionRecordInvalidError, revision);
    return { revision, ...named };
  }
}
