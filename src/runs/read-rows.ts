import type { z } from 'zod';
import { corruptRow } from './errors.ts';
import {
  type ApprovalRecord,
  approvalRecordSchema,
  type Conversation,
  conversationSchema,
  type RunEvent,
  type RunRecord,
  runEventSchema,
  runRecordSchema,
} from './run-schemas.ts';

// Every row a store reads back goes through these: a row that does not parse, or that names
// another tenant or key than the one it was read under, is RUN_STORE_CORRUPT.

function parsed<T>(schema: z.ZodType<T>, value: unknown, what: string, key: string): T {
  let raw = value;
  if (typeof value === 'string') {
    try {
      raw = JSON.parse(value);
    } catch (error) {
      throw corruptRow(what, key, [`not JSON: ${(error as Error).message}`]);
    }
  }
  const result = schema.safeParse(raw);
  if (!result.success)
    throw corruptRow(
      what,
      key,
      result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
    );
  return result.data;
}

/** A run header read back under `(tenant, runId)`. */
export function readRun(value: unknown, tenant: string | undefined, runId: string): RunRecord {
  const run = parsed(runRecordSchema, value, 'run', runId);
  if (run.id !== runId || run.tenant !== tenant)
    throw corruptRow('run', runId, [
      `it names run "${run.id}" of tenant ${JSON.stringify(run.tenant ?? null)}`,
    ]);
  return run;
}

/** A checkpoint entry read back as `seq` of `runId`. */
export function readEvent(value: unknown, runId: string, seq?: number): RunEvent {
  const event = parsed(runEventSchema, value, 'run event', `${runId}#${seq ?? '?'}`);
  if (seq !== undefined && event.seq !== seq)
    throw corruptRow('run event', `${runId}#${seq}`, [`it says it is #${event.seq}`]);
  return event;
}

/** An approval read back under `(tenant, approvalId)`. */
export function readApproval(value: unknown, tenant: string | undefined, approvalId: string): ApprovalRecord {
  const approval = parsed(approvalRecordSchema, value, 'approval', approvalId);
  if (approval.id !== approvalId || approval.tenant !== tenant)
    throw corruptRow('approval', approvalId, [
      `it names approval "${approval.id}" of tenant ${JSON.stringify(approval.tenant ?? null)}`,
    ]);
  return approval;
}

/** A conversation read back for `agentId`. */
export function readConversation(value: unknown, agentId: string): Conversation {
  return parsed(conversationSchema, value, 'conversation', agentId);
}

/**
 * The header an append wrote, checked for what the caller relies on (its id, tenant and seq);
 * reads (`get`, `list`, a resume) validate it whole.
 */
export function headerAfterAppend(
  json: unknown,
  tenant: string | undefined,
  runId: string,
  seq: number,
): RunRecord {
  let record: RunRecord;
  try {
    record = JSON.parse(String(json)) as RunRecord;
  } catch (error) {
    throw corruptRow('run', runId, [`not JSON: ${(error as Error).message}`]);
  }
  if (record?.id !== runId || record.tenant !== tenant || record.seq !== seq)
    throw corruptRow('run', runId, ['the header does not name this run and checkpoint']);
  return record;
}
