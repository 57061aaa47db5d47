import { SYSTEM_SCOPE } from './agent-record.ts';

// KV keys of the NATS KV agent directory: `a.<tenant>.<id>`. A token is the value itself when
// it is a plain token (1-64 of A-Z, a-z, 0-9, _ and -, and not "_"), else "=" and its base64url
// text, so ids with dots, spaces, colons or any unicode are one safe token, and keys of common
// ids stay readable. The system scope is "_", which no tenant's token is.

const PLAIN = /^[A-Za-z0-9_-]{1,64}$/;

/** One key token for `value`. */
export function agentKeyToken(value: string): string {
  return PLAIN.test(value) && value !== SYSTEM_SCOPE
    ? value
    : `=${Buffer.from(value, 'utf8').toString('base64url')}`;
}

/** The value a token (of `agentKeyToken`) encodes. */
export function fromAgentKeyToken(token: string): string {
  return token.startsWith('=') ? Buffer.from(token.slice(1), 'base64url').toString('utf8') : token;
}

/** The token of a tenant; `_` for the system scope. */
export function tenantToken(tenant: string | undefined): string {
  return tenant === undefined ? SYSTEM_SCOPE : agentKeyToken(tenant);
}

/** `a.<tenant>.<id>`: the key of one agent's record. */
export function agentKey(tenant: string | undefined, id: string): string {
  return `a.${tenantToken(tenant)}.${agentKeyToken(id)}`;
}

/** `a.<tenant>.*`: the filter of a tenant's keys. */
export function tenantFilter(tenant: string | undefined): string {
  return `a.${tenantToken(tenant)}.*`;
}
