import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Prefix of every tenant API key: `af_<key id>_<secret>`. */
const PREFIX = 'af_';
const KEY_ID_LENGTH = 16;
const KEY_SHAPE = /^af_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/;

/** A freshly generated key: the plaintext (shown once) and what is stored. */
export interface GeneratedApiKey {
  /** The secret to hand to the client; never stored. */
  key: string;
  /** Public id, the lookup handle (safe to log and list). */
  keyId: string;
  /** SHA-256 of the whole key, hex: what the registry stores. */
  hash: string;
}

/**
 * A new random API key: 16 hex chars of id and 256 random bits of secret. SHA-256 (not a slow
 * password hash) is enough because the secret is random, and keeps authentication in microseconds.
 */
export function generateApiKey(): GeneratedApiKey {
  const keyId = randomBytes(KEY_ID_LENGTH / 2).toString('hex');
  const key = `${PREFIX}${keyId}_${randomBytes(32).toString('base64url')}`;
  return { key, keyId, hash: hashApiKey(key) };
}

/** The key id of a well-formed key, or undefined. */
export function apiKeyId(key: string): string | undefined {
  return KEY_SHAPE.test(key) ? key.slice(PREFIX.length, PREFIX.length + KEY_ID_LENGTH) : undefined;
}

/** SHA-256 of a key (or of the admin secret), hex. */
export function hashApiKey(key: string): string {
  return hash('sha256', key, 'hex');
}

/**
 * Compares a presented key with a stored hash (hex, or the same 32 bytes as a Buffer — pass a
 * Buffer on hot paths) in time independent of where they differ.
 */
export function apiKeyMatches(key: string, storedHash: string | Buffer): boolean {
  const stored = typeof storedHash === 'string' ? Buffer.from(storedHash, 'hex') : storedHash;
  const presented = hash('sha256', key, 'buffer');
  return stored.length === presented.length && timingSafeEqual(presented, stored);
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined || header.length < 8) return undefined;
  if (!header.startsWith('Bearer ') && header.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  const token = header.slice(7).trim();
  return token.length === 0 ? undefined : token;
}
