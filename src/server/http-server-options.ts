import { z } from 'zod';

/**
 * The plain-value options of `AgentfleetServer`, with their defaults: the one place both are
 * defined. The capabilities it serves (runtime, auth, state, metrics, …) are typed beside it
 * in `HttpServerOptions`.
 */
export const httpServerOptionsSchema = z.object({
  /** Id of the running act agent (without a tenant) that serves `/act`; without it `/act` is not routed. */
  actAgentId: z.string().min(1).optional(),
  /**
   * Whether `/act` answers without a key. Default false: it needs a tenant or admin key like
   * every route. When public, a key that is sent is still checked and the request runs as its tenant.
   */
  publicAct: z.boolean().default(false),
  /** Let Prometheus scrape `/metrics` without a key. Default false. */
  metricsPublic: z.boolean().default(false),
  /** Largest request body in bytes. Default 1 MiB. */
  bodyLimitBytes: z
    .number()
    .int()
    .min(1)
    .max(1024 ** 3)
    .default(1024 * 1024),
  /** Bounds on event streams (SSE) for clients that read slowly; the defaults are `EventStream`'s. */
  streams: z
    .object({
      /** Bytes a client may leave unread before it is dropped. Default 1 MiB. */
      maxBufferedBytes: z.number().int().min(0).optional(),
      /** Milliseconds a stream waits for a slow client to drain. Default 30 s. */
      drainTimeoutMs: z.number().int().min(0).optional(),
    })
    .optional(),
  /** Milliseconds a client has to send a whole request (headers included) before it is answered 408; 0 disables it. Default 30 s. */
  requestTimeoutMs: z.number().int().min(0).default(30_000),
});

/** The plain-value options, as accepted. */
export type HttpServerValueOptions = z.input<typeof httpServerOptionsSchema>;
