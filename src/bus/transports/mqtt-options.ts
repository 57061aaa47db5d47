import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { parseOptions } from '../../errors/index.ts';

/** Options of `mqttTransport`. */
export interface MqttTransportOptions {
  /** Broker URL: `mqtt://`, `mqtts://`, `ws://` or `wss://`. Default `mqtt://127.0.0.1:1883`. */
  url?: string;
  /** 0 (at most once) or 1 (at least once, the broker acknowledges each publish). Default 1. */
  qos?: 0 | 1;
  /** MQTT client id. Default: `agentfleet-` and random hex (each transport its own session). */
  clientId?: string;
  /**
   * Credentials the broker authenticates (its password file, its auth plugin). The tenant of
   * a bus request is trusted only because the broker confines each client with an ACL, so
   * production nodes set them. Never logged nor put in error messages. Default: none.
   */
  username?: string;
  password?: string;
  /**
   * TLS for `mqtts://` and `wss://`: PEM text of the CA that signed the broker (`ca`), and for
   * mutual TLS the client's `cert` and `key`. Default: the system CAs, no client certificate.
   */
  tls?: { ca?: string; cert?: string; key?: string };
  /** Milliseconds to wait for the broker's CONNACK. Default 5000. */
  connectTimeoutMs?: number;
  /** Milliseconds between reconnect attempts once connected; 0 never reconnects. Default 1000. */
  reconnectPeriodMs?: number;
  /** Abandons connecting (and closes the connection if it was made). */
  signal?: AbortSignal;
}

export interface ResolvedMqttOptions {
  readonly url: string;
  readonly qos: 0 | 1;
  readonly clientId: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly tls: { ca?: string; cert?: string; key?: string } | undefined;
  readonly connectTimeoutMs: number;
  readonly reconnectPeriodMs: number;
  readonly signal: AbortSignal | undefined;
}

const pem = z.string().regex(/-----BEGIN [A-Z ]+-----/, 'must be PEM text (-----BEGIN …-----)');

const schema = z.object({
  url: z
    .string()
    .regex(/^(mqtts?|wss?|tcp|tls):\/\/[^\s]+$/, 'must be an mqtt://, mqtts://, ws:// or wss:// URL')
    .optional(),
  qos: z.union([z.literal(0), z.literal(1)]).optional(),
  clientId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ or -, at most 64')
    .optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  tls: z
    .strictObject({ ca: pem.optional(), cert: pem.optional(), key: pem.optional() })
    .refine((t) => (t.cert === undefined) === (t.key === undefined), {
      message: 'cert and key go together (mutual TLS)',
    })
    .optional(),
  connectTimeoutMs: z.number().int().min(1).optional(),
  reconnectPeriodMs: z.number().int().min(0).optional(),
  signal: z.instanceof(AbortSignal).optional(),
});

/** Validates `mqttTransport` options; throws `INVALID_OPTIONS` naming every bad field. */
export function parseMqttOptions(options: MqttTransportOptions | undefined): ResolvedMqttOptions {
  const o = parseOptions('mqttTransport', schema, options ?? {});
  return {
    url: o.url ?? 'mqtt://127.0.0.1:1883',
    qos: o.qos ?? 1,
    clientId: o.clientId ?? `agentfleet-${randomBytes(8).toString('hex')}`,
    username: o.username,
    password: o.password,
    tls: o.tls,
    connectTimeoutMs: o.connectTimeoutMs ?? 5_000,
    reconnectPeriodMs: o.reconnectPeriodMs ?? 1_000,
    signal: o.signal,
  };
}
