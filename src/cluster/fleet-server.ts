import type { Bus, Envelope, Subscription } from '../bus/index.ts';
import { withoutTenant, withTenant } from '../context/index.ts';
import type { AgentStreamListener } from '../core/index.ts';
import {
  type CallMessage,
  type CallReply,
  type ClusterSubjects,
  callMessageSchema,
  cancelMessageSchema,
  errorOf,
} from './cluster-wire.ts';
import { ClusterCallInvalidError } from './errors.ts';
import { CallRefusedError } from './fleet-client.ts';

/** Runs a call that arrived from another node, in its tenant. */
export type CallRunner = (
  message: CallMessage,
  options: { signal: AbortSignal; onEvent?: AgentStreamListener },
) => Promise<unknown>;

/**
 * Serves the calls other nodes make on this node's agents (`agentfleet.cluster.<cluster>.node.<id>.call`): each
 * is validated, run in the tenant of its envelope, and answered with its value or its error
 * (code, message and details kept). Stream parts go to the caller's parts subject, numbered.
 * Bounded: at most `maxInFlight` calls at once (more wait in the bus's bounded buffer, then are
 * dropped and the caller times out).
 */
export class FleetServer {
  readonly #bus: Bus;
  readonly #nodeId: string;
  readonly #subjects: ClusterSubjects;
  readonly #run: CallRunner;
  readonly #maxInFlight: number;
  readonly #running = new Map<string, AbortController>();
  #calls: Subscription<unknown> | undefined;
  #cancels: Subscription<unknown> | undefined;

  constructor(bus: Bus, nodeId: string, run: CallRunner, maxInFlight: number, subjects: ClusterSubjects) {
    this.#subjects = subjects;
    this.#bus = bus;
    this.#nodeId = nodeId;
    this.#run = run;
    this.#maxInFlight = maxInFlight;
  }

  async open(): Promise<void> {
    await withoutTenant(async () => {
      this.#calls = await this.#bus.subscribe(
        this.#subjects.call(this.#nodeId),
        (message, context) => this.#handle(message, context.signal),
        { concurrency: this.#maxInFlight, buffer: this.#maxInFlight, whenFull: 'drop-newest' },
      );
      this.#cancels = await this.#bus.subscribe(this.#subjects.cancel(this.#nodeId), (message) => {
        const parsed = cancelMessageSchema.safeParse(message.payload);
        if (parsed.success) this.#running.get(parsed.data.callId)?.abort();
      });
    });
  }

  /** Calls being run now. */
  get inFlight(): number {
    return this.#running.size;
  }

  async #handle(envelope: Envelope<unknown>, signal: AbortSignal): Promise<CallReply> {
    const parsed = callMessageSchema.safeParse(envelope.payload);
    if (!parsed.success)
      return {
        ok: false,
        error: errorOf(new ClusterCallInvalidError(parsed.error.issues[0]?.message ?? 'bad call')),
        parts: 0,
      };
    const message = parsed.data;
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    this.#running.set(message.callId, controller);
    let parts = 0;
    const target = message.parts;
    const onEvent: AgentStreamListener | undefined =
      target === undefined
        ? undefined
        : (part) => {
            this.#bus
              .publish(this.#subjects.parts(target.node), { callId: target.callId, seq: parts++, part })
              .catch(() => {}); // a lost part must not fail the call
          };
    const tenant = envelope.tenant;
    try {
      const run = () =>
        this.#run(message, { signal: controller.signal, ...(onEvent === undefined ? {} : { onEvent }) });
      const value = await (tenant === undefined ? withoutTenant(run) : withTenant(tenant, run));
      return { ok: true, value: value === undefined ? null : value, parts };
    } catch (error) {
      return error instanceof CallRefusedError
        ? { ok: false, error: errorOf(error), parts, retry: true }
        : { ok: false, error: errorOf(error), parts };
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.#running.delete(message.callId);
    }
  }

  /** Stops taking calls; those running finish within the bus's close deadline. */
  async close(): Promise<void> {
    const calls = this.#calls;
    const cancels = this.#cancels;
    this.#calls = undefined;
    this.#cancels = undefined;
    await calls?.close();
    await cancels?.close({ drain: false });
  }
}
