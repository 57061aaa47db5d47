import { randomBytes } from 'node:crypto';
import type { Bus, Subscription } from '../bus/index.ts';
import { withoutTenant } from '../context/index.ts';
import type { AgentStreamListener, AgentStreamPart } from '../core/index.ts';
import { AgentfleetError } from '../errors/index.ts';
import {
  type CallMessage,
  type ClusterSubjects,
  partMessageSchema,
  RemoteAgentError,
  replySchema,
} from './cluster-wire.ts';
import { AgentOwnerLostError, ClusterCallInvalidError } from './errors.ts';
import type { AgentCall } from './fleet-host.ts';

/** A call that reached no node able to run it (nothing ran): the caller may send it elsewhere. */
export class CallRefusedError extends AgentfleetError {}

interface Pending {
  readonly node: string;
  readonly agentId: string;
  readonly onEvent: AgentStreamListener | undefined;
  received: number;
  expected: number | undefined;
  settle: (() => void) | undefined;
  fail: (error: Error) => void;
}

/** How long a reply waits for stream parts still on their way (they travel on another subject). */
const PARTS_GRACE_MS = 2_000;

/**
 * Calls on agents active on other nodes: a bus request to the owner's call subject; stream
 * parts arrive on this node's one parts subscription and go to their call's listener, in
 * order; an abort tells the owner to cancel; a call to a node that leaves the cluster fails
 * at once with `AGENT_OWNER_LOST` (see `nodeGone`).
 */
export class FleetClient {
  readonly #bus: Bus;
  readonly #nodeId: string;
  readonly #subjects: ClusterSubjects;
  readonly #timeoutMs: number;
  readonly #pending = new Map<string, Pending>();
  #parts: Subscription<unknown> | undefined;
  #next = 0;
  readonly #prefix = randomBytes(4).toString('hex');

  constructor(bus: Bus, nodeId: string, timeoutMs: number, subjects: ClusterSubjects) {
    this.#subjects = subjects;
    this.#bus = bus;
    this.#nodeId = nodeId;
    this.#timeoutMs = timeoutMs;
  }

  async open(): Promise<void> {
    this.#parts = await withoutTenant(() =>
      this.#bus.subscribe(this.#subjects.parts(this.#nodeId), (message) => this.#part(message.payload)),
    );
  }

  /** Calls in flight to other nodes. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /**
   * Runs `call` on `node` for the current tenant's agent `id`. Rejects with the error the owner
   * raised (same code, message and details), `CallRefusedError` when the owner had no such
   * agent and ran nothing, `AGENT_OWNER_LOST` when it left first, or the bus's error
   * (`NO_RESPONDERS`: nothing ran either).
   */
  async call(
    node: string,
    id: string,
    call: AgentCall,
    options: { signal?: AbortSignal; onEvent?: AgentStreamListener; hops: number },
  ): Promise<unknown> {
    const callId = `${this.#prefix}${(++this.#next).toString(36)}`;
    const message: CallMessage = {
      id,
      call,
      callId,
      hops: options.hops,
      ...(options.onEvent === undefined ? {} : { parts: { node: this.#nodeId, callId } }),
    };
    let fail!: (error: Error) => void;
    const lost = new Promise<never>((_, reject) => {
      fail = reject;
    });
    lost.catch(() => {});
    const pending: Pending = {
      node,
      agentId: id,
      onEvent: options.onEvent,
      received: 0,
      expected: undefined,
      settle: undefined,
      fail,
    };
    this.#pending.set(callId, pending);
    const signal = options.signal;
    const onAbort = () => {
      this.#bus.publish(this.#subjects.cancel(node), { callId }).catch(() => {});
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const envelope = await Promise.race([
        this.#bus.request(this.#subjects.call(node), message, { timeout: this.#timeoutMs, signal }),
        lost,
      ]);
      const parsed = replySchema.safeParse(envelope.payload);
      if (!parsed.success) throw new ClusterCallInvalidError(`the reply of node "${node}" does not parse`);
      const reply = parsed.data;
      await this.#allParts(pending, reply.parts);
      if (reply.ok) return reply.value;
      if (reply.retry === true) throw new CallRefusedError(reply.error.code, reply.error.message);
      throw new RemoteAgentError(reply.error);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.#pending.delete(callId);
    }
  }

  /** A node left the cluster: its calls in flight fail with `AGENT_OWNER_LOST`. */
  nodeGone(node: string): void {
    for (const pending of this.#pending.values())
      if (pending.node === node) pending.fail(new AgentOwnerLostError(pending.agentId, node));
  }

  async close(): Promise<void> {
    const parts = this.#parts;
    this.#parts = undefined;
    await parts?.close({ drain: false });
  }

  #allParts(pending: Pending, expected: number): Promise<void> | undefined {
    if (pending.received >= expected) return undefined;
    pending.expected = expected;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, PARTS_GRACE_MS);
      timer.unref();
      pending.settle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  #part(payload: unknown): void {
    const parsed = partMessageSchema.safeParse(payload);
    if (!parsed.success) return; // a foreign message on our subject: dropped
    const pending = this.#pending.get(parsed.data.callId);
    if (pending === undefined || parsed.data.seq !== pending.received) return; // late, or out of order (lost before)
    pending.received++;
    try {
      pending.onEvent?.(parsed.data.part as AgentStreamPart);
    } catch {
      // a listener's failure is the listener's
    }
    if (pending.expected !== undefined && pending.received >= pending.expected) pending.settle?.();
  }
}
