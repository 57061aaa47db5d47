import { z } from 'zod';
import {
  assertTopic,
  type Bus,
  type Envelope,
  MessageTooLargeError,
  type Subscription,
} from '../bus/index.ts';
import { type AgentFleet, requireAgent } from '../cluster/index.ts';
import { withoutTenant, withTenant } from '../context/index.ts';
import { AgentNotFoundError, type AgentStreamPart } from '../core/index.ts';
import { AgentfleetError, parseOptions } from '../errors/index.ts';
import {
  IngressOverloadedError,
  IngressRequestInvalidError,
  IngressTenantMismatchError,
  publicError,
} from './errors.ts';
import { INBOX_PATTERN, parseInboxTopic, SYSTEM_TENANT_TOKEN } from './inbox-topic.ts';
import type { StreamPart } from './stream-part.ts';

const optionsSchema = z.strictObject({
  /** Queue group shared by every node serving the same agents: each request reaches one node. Default `agentfleet-front-door`. */
  queue: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .default('agentfleet-front-door'),
  /** Requests handled at once on this node, all tenants together. Default 1024. */
  maxInFlight: z.number().int().min(1).max(100_000).default(1024),
  /** Requests handled at once for one tenant on this node. Default 256. */
  maxInFlightPerTenant: z.number().int().min(1).max(100_000).default(256),
  /** Largest request payload, in bytes of its JSON form (like HTTP's body limit). Default 1 MiB. */
  maxPayloadBytes: z
    .number()
    .int()
    .min(64)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
});

/** Options of `BusFrontDoor.open`. */
export type BusFrontDoorOptions = z.input<typeof optionsSchema>;

const requestSchema = z.strictObject({
  input: z.unknown(),
  /** Subject the stream parts are published to; must be under `agent.<tenant>.`. */
  stream: z.string().min(1).max(255).optional(),
});

/** What the front door sends to: a node's `agents` (one node's runtime, or a cluster). */
export type FrontDoorAgents = Pick<AgentFleet, 'send' | 'exists'>;

/**
 * Makes every agent of a fleet reachable on a bus: a request on `agent.<tenant>.<id>.inbox`
 * with payload `{ input }` is `agents.send(id, input)` in that tenant (wherever the agent is
 * active, in a cluster), and its reply is `{ output }` (with `runId` for a durable agent's
 * run) — the body of HTTP `POST /v1/agents/:id/messages`. Errors travel as the bus's
 * error reply (`agentfleet-error` header, payload `{ code, message }`) with the same codes as
 * HTTP (`AGENT_NOT_FOUND`, `AGENT_NOT_RUNNING`, `MAILBOX_FULL`, `INVALID_INPUT`, …). A plain
 * client (JSON, not an Agentfleet frame) gets plain JSON: `{ output }` or
 * `{ error: { code, message, details? } }` with the code in the native header
 * `agentfleet-error` (see `Bus.reply`); its reply topic may not lie under another tenant's
 * `agent.<tenant>.` (such a request is dropped).
 *
 * With `{ input, stream: '<subject>' }` the agent's progress events are published to that
 * subject as they happen (`{ type: 'event', event }`), then `{ type: 'result', output }` or
 * `{ type: 'error', error: { code, message } }`; the reply is sent as well.
 *
 * One wildcard subscription (`agent.*.*.inbox`, in a queue group so several nodes share the
 * load) serves every agent: a node with a million agents holds one transport subscription.
 *
 * Trust model: the tenant is the subject's second token, never a field of the message. That
 * is sound only because the broker authenticates each client and its ACL confines a tenant's
 * client to `agent.<tenant>.>` (publish) and its own reply subjects (subscribe); a request
 * whose envelope claims another tenant is refused (`TENANT_MISMATCH`). The system scope
 * (agents without a tenant) is not offered: `agent._.<id>.inbox` answers `AGENT_NOT_FOUND`,
 * as would any id of an agent that exists only without a tenant. A stream subject must lie
 * under `agent.<tenant>.`, so a client cannot make the node publish into another tenant's
 * subjects. Agent and tenant ids that are not topic tokens (see `inboxTopic`) are not
 * addressable on the bus.
 *
 * Bounded: at most `maxInFlight` requests (and `maxInFlightPerTenant` per tenant) at once,
 * else `INGRESS_OVERLOADED`; a payload over `maxPayloadBytes` is `MESSAGE_TOO_LARGE`.
 */
export class BusFrontDoor {
  readonly #agents: FrontDoorAgents;
  readonly #bus: Bus;
  readonly #options: z.output<typeof optionsSchema>;
  readonly #perTenant = new Map<string, number>();
  #inFlight = 0;
  #subscription: Subscription<unknown> | undefined;

  private constructor(agents: FrontDoorAgents, bus: Bus, options: z.output<typeof optionsSchema>) {
    this.#agents = agents;
    this.#bus = bus;
    this.#options = options;
  }

  /**
   * Subscribes the front door on `bus` for the fleet's agents (a node's `agents`, or a
   * `LocalFleet` over a runtime); resolves once the transport confirmed the subscription.
   * Throws `INVALID_OPTIONS`, and what `bus.subscribe` throws.
   */
  static async open(
    agents: FrontDoorAgents,
    bus: Bus,
    options: BusFrontDoorOptions = {},
  ): Promise<BusFrontDoor> {
    const door = new BusFrontDoor(agents, bus, parseOptions('BusFrontDoor options', optionsSchema, options));
    await door.#start();
    return door;
  }

  /** Requests being handled now (all tenants). */
  get inFlight(): number {
    return this.#inFlight;
  }

  async #start(): Promise<void> {
    const o = this.#options;
    // System scope: the subscription sees every tenant's requests; each runs in its subject's tenant.
    this.#subscription = await withoutTenant(() =>
      this.#bus.subscribe(INBOX_PATTERN, (message, context) => this.#handle(message, context.signal), {
        queue: o.queue,
        concurrency: o.maxInFlight,
        buffer: o.maxInFlight,
        whenFull: 'drop-newest',
      }),
    );
  }

  #handle(message: Envelope<unknown>, signal: AbortSignal): Promise<unknown> | undefined {
    const address = parseInboxTopic(message.topic);
    if (address === undefined) return undefined; // not an inbox topic (cannot happen with the pattern)
    const { tenant, id } = address;
    if (tenant === SYSTEM_TENANT_TOKEN) return Promise.reject(new AgentNotFoundError(id));
    if (message.tenant !== undefined && message.tenant !== tenant)
      return Promise.reject(new IngressTenantMismatchError(tenant, message.tenant));
    // A plain client names its reply topic itself: never let it make the node publish into
    // another tenant's subjects (nor reply there with the refusal): such a request is dropped.
    const replyTo = message.plain === undefined ? undefined : message.replyTo;
    if (replyTo?.startsWith('agent.') && !replyTo.startsWith(`agent.${tenant}.`)) return undefined;
    let request: z.output<typeof requestSchema>;
    try {
      request = this.#parse(message);
    } catch (error) {
      return Promise.reject(error);
    }
    const o = this.#options;
    const tenantCount = this.#perTenant.get(tenant) ?? 0;
    if (tenantCount >= o.maxInFlightPerTenant)
      return Promise.reject(new IngressOverloadedError('tenant', o.maxInFlightPerTenant, tenant));
    if (this.#inFlight >= o.maxInFlight)
      return Promise.reject(new IngressOverloadedError('total', o.maxInFlight, tenant));
    this.#perTenant.set(tenant, tenantCount + 1);
    this.#inFlight++;
    return withTenant(tenant, () => this.#answer(tenant, id, request, signal)).finally(() => {
      this.#inFlight--;
      const left = (this.#perTenant.get(tenant) ?? 1) - 1;
      if (left === 0) this.#perTenant.delete(tenant);
      else this.#perTenant.set(tenant, left);
    });
  }

  #parse(message: Envelope<unknown>): z.output<typeof requestSchema> {
    // The size as received; only a message that was never encoded (an in-process bus) is measured.
    const size = message.bytes ?? Buffer.byteLength(JSON.stringify(message.payload ?? null) ?? '');
    if (size > this.#options.maxPayloadBytes)
      throw new MessageTooLargeError(size, this.#options.maxPayloadBytes, message.topic);
    const parsed = requestSchema.safeParse(message.payload);
    if (!parsed.success)
      throw new IngressRequestInvalidError('the payload must be { input, stream? }', message.topic);
    const stream = parsed.data.stream;
    if (stream !== undefined) {
      const prefix = `agent.${parseInboxTopic(message.topic)?.tenant}.`;
      try {
        assertTopic(stream);
      } catch {
        throw new IngressRequestInvalidError(
          `"stream" ${JSON.stringify(stream)} is not a topic`,
          message.topic,
        );
      }
      if (!stream.startsWith(prefix))
        throw new IngressRequestInvalidError(`"stream" must be a subject under ${prefix}`, message.topic);
    }
    return parsed.data;
  }

  async #send(
    tenant: string,
    id: string,
    request: z.output<typeof requestSchema>,
    signal: AbortSignal,
  ): Promise<unknown> {
    const stream = request.stream;
    if (stream === undefined) return this.#deliver(id, request.input, signal);
    await requireAgent(this.#agents, id); // AGENT_NOT_FOUND as a plain error reply, before any part
    const publish = (part: StreamPart) => {
      this.#bus.publish(stream, part, { tenant }).catch(() => {}); // a lost part must not fail the run
    };
    try {
      const result = await this.#deliver(id, request.input, signal, (event) =>
        publish({ type: 'event', event }),
      );
      publish({ type: 'result', output: result.output });
      return result;
    } catch (error) {
      publish({ type: 'error', error: errorPart(error) });
      throw error;
    }
  }

  /**
   * Sends to the agent: a durable agent's message is a run (the reply carries `runId`, and the
   * requester going away does not cancel it), any other a plain send abandoned with the request.
   */
  async #deliver(
    id: string,
    input: unknown,
    signal: AbortSignal,
    onEvent?: (event: AgentStreamPart) => void,
  ): Promise<{ output: unknown; runId?: string }> {
    try {
      return await this.#agents.send(id, input, { signal, ...(onEvent === undefined ? {} : { onEvent }) });
    } catch (error) {
      // A durable agent's input is text: the bus's own code for a request it cannot take.
      if (AgentfleetError.isInstance(error) && error.code === 'INVALID_REQUEST')
        throw new IngressRequestInvalidError(
          'a durable agent takes a string input or { content: string }',
          id,
        );
      throw error;
    }
  }

  /** Like `#send`, but an error that is no Agentfleet error is `INTERNAL`, as over HTTP: its message stays in the node. */
  async #answer(
    tenant: string,
    id: string,
    request: z.output<typeof requestSchema>,
    signal: AbortSignal,
  ): Promise<unknown> {
    try {
      return await this.#send(tenant, id, request, signal);
    } catch (error) {
      throw publicError(error);
    }
  }

  /**
   * Stops taking requests: unsubscribes, lets the requests in flight finish (within the bus's
   * close deadline), and resolves. Idempotent.
   */
  async close(): Promise<void> {
    const subscription = this.#subscription;
    this.#subscription = undefined;
    await subscription?.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function errorPart(error: unknown): { code: string; message: string } {
  return AgentfleetError.isInstance(error)
    ? { code: error.code, message: error.message }
    : { code: 'INTERNAL', message: 'Internal error; see the node log.' };
}
