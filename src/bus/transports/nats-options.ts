import { z } from 'zod';
import { parseOptions } from '../../errors/index.ts';
import { assertPattern, topicMatches } from '../topic.ts';

/** A JetStream stream the NATS transport creates (or updates) when it connects. */
export interface NatsStreamOptions {
  /** Stream name: letters, digits, `_` and `-`. */
  name: string;
  /** Bus topics or patterns (`*`, trailing `>`) the stream stores; publishes on them are acknowledged. */
  subjects: string[];
  /** Milliseconds a message is kept. Default: forever (limited only by the server). */
  maxAgeMs?: number;
  /**
   * Milliseconds in which a second publish with the same envelope id is dropped by the server
   * (publisher-side dedupe). Default 120000 (2 minutes), or `maxAgeMs` when that is shorter.
   */
  duplicateWindowMs?: number;
}

/** Options of `natsTransport`. */
export interface NatsTransportOptions {
  /** `host:port` (or `nats://host:port`) of one server or several. Default `127.0.0.1:4222`. */
  servers?: string | string[];
  /** Connection name shown by the server (`nats server report connections`). Default: none. */
  name?: string;
  /**
   * Streams for durable subscriptions and acknowledged publishes. Created or updated at connect;
   * topics no stream covers travel on core NATS (at most once). Default: none.
   */
  streams?: NatsStreamOptions[];
  /**
   * How the client authenticates to the server: `{ user, pass }`, `{ token }` or `{ nkeySeed }`
   * (an `SU…` user seed; the server knows the public key). The tenant of a bus request is
   * trusted only because the server authenticates each client and confines it with an ACL, so
   * production nodes set one. Secrets are never logged nor put in error messages. Default: none.
   */
  auth?: NatsAuthOptions;
  /**
   * TLS: PEM text of the CA that signed the server (`ca`), and for mutual TLS the client's
   * `cert` and `key`. `{}` turns TLS on with the system CAs. Default: plain TCP.
   */
  tls?: { ca?: string; cert?: string; key?: string };
  /** Abandons connecting (and closes the connection if it was made). Default: none. */
  signal?: AbortSignal;
}

/** NATS client credentials (one kind). */
export type NatsAuthOptions = { user: string; pass: string } | { token: string } | { nkeySeed: string };

/** The options after validation, with defaults filled in. */
export interface ResolvedNatsOptions {
  readonly servers: string | string[];
  readonly name: string | undefined;
  readonly streams: readonly ResolvedStream[];
  readonly auth: NatsAuthOptions | undefined;
  readonly tls: { ca?: string; cert?: string; key?: string } | undefined;
  readonly signal: AbortSignal | undefined;
}

export interface ResolvedStream {
  readonly name: string;
  readonly subjects: readonly string[];
  readonly maxAgeMs: number | undefined;
  readonly duplicateWindowMs: number;
}

const DEFAULT_DUPLICATE_WINDOW_MS = 120_000;

const pattern = z.string().superRefine((value, ctx) => {
  try {
    assertPattern(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
  }
});

const ms = z.number().int().min(1);
const pem = z.string().regex(/-----BEGIN [A-Z ]+-----/, 'must be PEM text (-----BEGIN …-----)');

const stream = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, 'must be letters, digits, "_" or "-"')
      .max(128),
    subjects: z.array(pattern).min(1),
    maxAgeMs: ms.optional(),
    duplicateWindowMs: ms.optional(),
  })
  .refine((s) => s.maxAgeMs === undefined || (s.duplicateWindowMs ?? 0) <= s.maxAgeMs, {
    message: 'duplicateWindowMs must not exceed maxAgeMs',
    path: ['duplicateWindowMs'],
  });

const schema = z.object({
  servers: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  name: z.string().min(1).optional(),
  streams: z.array(stream).optional(),
  auth: z
    .union([
      z.strictObject({ user: z.string().min(1), pass: z.string() }),
      z.strictObject({ token: z.string().min(1) }),
      z.strictObject({ nkeySeed: z.string().regex(/^SU[A-Z2-7]{50,}$/, 'must be a NATS user seed (SU…)') }),
    ])
    .optional(),
  tls: z
    .strictObject({
      ca: pem.optional(),
      cert: pem.optional(),
      key: pem.optional(),
    })
    .refine((t) => (t.cert === undefined) === (t.key === undefined), {
      message: 'cert and key go together (mutual TLS)',
    })
    .optional(),
  signal: z.instanceof(AbortSignal).optional(),
});

/** Validates `natsTransport` options; throws `INVALID_OPTIONS` naming every bad field. */
export function parseNatsOptions(options: NatsTransportOptions | undefined): ResolvedNatsOptions {
  const parsed = parseOptions('natsTransport', schema, options ?? {});
  return {
    servers: parsed.servers ?? '127.0.0.1:4222',
    name: parsed.name,
    auth: parsed.auth,
    tls: parsed.tls,
    signal: parsed.signal,
    streams: (parsed.streams ?? []).map((s) => ({
      name: s.name,
      subjects: s.subjects,
      maxAgeMs: s.maxAgeMs,
      duplicateWindowMs: s.duplicateWindowMs ?? Math.min(DEFAULT_DUPLICATE_WINDOW_MS, s.maxAgeMs ?? Infinity),
    })),
  };
}

/** The configured stream that stores `topic`, if any. */
export function streamStoring(streams: readonly ResolvedStream[], topic: string): ResolvedStream | undefined {
  return streams.find((s) => s.subjects.some((subject) => topicMatches(subject, topic)));
}

/** The configured stream that stores every topic `pattern` matches, if any. */
export function streamCovering(
  streams: readonly ResolvedStream[],
  pattern: string,
): ResolvedStream | undefined {
  return streams.find((s) => s.subjects.some((subject) => covers(subject, pattern)));
}

/** True when every topic matching `inner` also matches `outer`. */
export function covers(outer: string, inner: string): boolean {
  const o = outer.split('.');
  const i = inner.split('.');
  for (let k = 0; k < o.length; k++) {
    const token = o[k];
    if (token === '>') return i.length > k;
    const other = i[k];
    if (other === undefined || other === '>') return false;
    if (token !== '*' && (other === '*' || token !== other)) return false;
  }
  return o.length === i.length;
}
