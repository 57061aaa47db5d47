// KV keys of the NATS KV run store. A key is dot-separated tokens of [-/=_A-Za-z0-9]; tenants
// and ids are base64url-encoded so any value is one safe token ('_' for the empty string, which
// no non-empty base64url text is). Event keys end with the seq padded to 12 digits.

/** One key token for `value`. */
export function kvToken(value: string): string {
  return value === '' ? '_' : Buffer.from(value, 'utf8').toString('base64url');
}

/** The value a token encodes. */
export function fromKvToken(token: string): string {
  return token === '_' ? '' : Buffer.from(token, 'base64url').toString('utf8');
}

/** `<tenant>.<id>`: a run header, an approval or a conversation. */
export function rowKey(tenant: string, id: string): string {
  return `${kvToken(tenant)}.${kvToken(id)}`;
}

/** `<tenant>.<run>.<seq>`: one checkpoint entry. */
export function eventKey(tenant: string, runId: string, seq: number): string {
  return `${rowKey(tenant, runId)}.${String(seq).padStart(12, '0')}`;
}

/** The bucket names a prefix gives: runs (headers and events in one stream), approvals, conversations. */
export function natsKvRunBuckets(prefix: string): { runs: string; approvals: string; conversations: string } {
  return {
    runs: `${prefix}-runs`,
    approvals: `${prefix}-approvals`,
    conversations: `${prefix}-conversations`,
  };
}
