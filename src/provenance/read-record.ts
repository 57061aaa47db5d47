import { corruptRecord } from './errors.ts';
import { type ProvenanceRecord, provenanceRecordSchema } from './records.ts';

/** A stored record's JSON, parsed and validated; another tenant's record is corrupt too. */
export function readRecord(raw: unknown, tenant: string): ProvenanceRecord {
  let value: unknown;
  try {
    value = typeof raw === 'string' ? JSON.parse(raw) : raw;
  } catch {
    throw corruptRecord('?', ['it is not JSON']);
  }
  const parsed = provenanceRecordSchema.safeParse(value);
  const key = `${tenant}/${(value as { seq?: unknown } | null)?.seq ?? '?'}`;
  if (!parsed.success)
    throw corruptRecord(
      key,
      parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
    );
  if (parsed.data.tenant !== tenant) throw corruptRecord(key, ['it belongs to another tenant']);
  return parsed.data;
}
