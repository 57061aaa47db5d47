import { formatIssues, InvalidOptionsError } from '../errors/index.ts';
import { type AgentRecord, agentRecordSchema } from './agent-record.ts';
import { AgentRecordCorruptError } from './errors.ts';

// What every agent directory checks on the records it is given and reads back, so the memory
// and NATS adapters refuse and accept the same records.

/** The largest record a directory takes, in bytes of its JSON encoding (1 MiB: NATS's default max payload). */
export const MAX_AGENT_RECORD_BYTES = 1_048_576;

/** The most records one `list` page may ask for. */
export const MAX_AGENT_LIST_LIMIT = 10_000;

/**
 * A record validated against `agentRecordSchema`, and its JSON encoding.
 * @throws InvalidOptionsError when it does not parse, is not JSON-encodable or is larger than `maxBytes`.
 */
export function encodeAgentRecord(
  input: AgentRecord,
  maxBytes = MAX_AGENT_RECORD_BYTES,
): { record: AgentRecord; json: string } {
  const result = agentRecordSchema.safeParse(input);
  if (!result.success) {
    const problems = formatIssues(result.error);
    throw new InvalidOptionsError(`Invalid agent record: ${problems.join('; ')}`, { details: { problems } });
  }
  let json: string;
  try {
    json = JSON.stringify(result.data);
  } catch (error) {
    throw new InvalidOptionsError(`The agent record "${input.id}" is not JSON-encodable: ${String(error)}`, {
      cause: error,
    });
  }
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > maxBytes)
    throw new InvalidOptionsError(
      `The agent record "${input.id}" is ${bytes} bytes encoded; a directory takes at most ${maxBytes}. Keep large state elsewhere.`,
      { details: { agentId: input.id, bytes, maxBytes } },
    );
  return { record: result.data, json };
}

/**
 * The record stored at `key` for `tenant`'s agent `id`.
 * @throws AgentRecordCorruptError when the text is not a valid record, or names another agent.
 */
export function decodeAgentRecord(
  text: string,
  key: string,
  tenant: string | undefined,
  id: string,
): AgentRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new AgentRecordCorruptError(key, `not JSON (${(error as Error).message})`);
  }
  const result = agentRecordSchema.safeParse(raw);
  if (!result.success) throw new AgentRecordCorruptError(key, formatIssues(result.error).join('; '));
  const record = result.data;
  if (record.id !== id || record.tenant !== tenant)
    throw new AgentRecordCorruptError(
      key,
      `it names agent "${record.id}" of tenant ${JSON.stringify(record.tenant ?? null)}`,
    );
  return record;
}

/** A `list` page size: 1 to 10,000, default 100. @throws InvalidOptionsError otherwise. */
export function agentListLimit(limit: number | undefined): number {
  if (limit === undefined) return 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AGENT_LIST_LIMIT)
    throw new InvalidOptionsError(`limit must be an integer from 1 to 10,000; got ${limit}.`);
  return limit;
}
