import { z } from 'zod';
import { type Bus, type Envelope, MessageTooLargeError, type Subscription } from '../bus/index.ts';
import { withoutTenant, withTenant } from '../context/index.ts';
import type { RunService } from '../runs/index.ts';
import {
  IngressOverloadedError,
  IngressRequestInvalidError,
  IngressTenantMismatchError,
  publicError,
} from './errors.ts';
import { SYSTEM_TENANT_TOKEN } from './inbox-topic.ts';

/** Every tenant's run operations subject, `agent.<tenant>.runs`. */
export const RUNS_PATTERN = 'agent.*.runs';

const runId = z.string().min(1).max(64);
const limit = z.number().int().min(1).max(1_000).optional();
const requestSchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('get'), runId }),
  z.strictObject({
    op: z.literal('list'),
    agentId: z.string().min(1).max(128).optional(),
    status: z.enum(['running', 'awaiting-approval', 'completed', 'failed', 'cancelled']).optional(),
    limit,
    before: runId.optional(),
  }),
  z.strictObject({ op: z.literal('events'), runId, after: z.number().int().min(0).optional(), limit }),
  z.strictObject({ op: z.literal('cancel'), runId, reason: z.string().min(1).max(1000).optional() }),
  z.strictObject({
    op: z.literal('approvals'),
    status: z.enum(['pending', 'approved', 'rejected', 'expired']).optional(),
    runId: runId.optional(),
    limit,
    after: z.string().min(1).max(64).optional(),
  }),
  z.strictObject({ op: z.literal('approval'), approvalId: z.string().min(1).max(64) }),
  z.strictObject({
    op: z.literal('decide'),
    approvalId: z.string().min(1).max(64),
    approve: z.boolean(),
    arguments: z.record(z.string(), z.unknown()).optional(),
    reason: z.string().min(1).max(4096).optional(),
  }),
]);
type RunsRequest = z.output<typeof requestSchema>;

/** Options of `RunsDoor.open`. */
export interface RunsDoorOptions {
  /** Queue group shared by the nodes that share a run store. Default `agentfleet-runs`. */
  queue?: string;
  /** Requests handled at once on this node. Default 256. */
  maxInFlight?: number;
  /** Largest request payload, in bytes. Default 64 KiB. */
  maxPayloadBytes?: number;
}

/**
 * Durable runs on the bus, as over HTTP: a request on `agent.<tenant>.runs` with payload
 * `{ op, … }` reads a run (`get`), lists runs (`list`), reads its events (`events`), cancels it
 * (`cancel`), lists approvals (`approvals`), reads one (`approval`) or decides one (`decide`,
 * with `approve`, edited `arguments`, `reason`), in that tenant. Errors are the bus's error
 * replies with the HTTP codes (`RUN_NOT_FOUND`, `APPROVAL_DECIDED`, …). The same trust model
 * as the inbox front door: the subject's tenant token decides, the broker's ACL confines
 * each tenant's client to `agent.<tenant>.>`, and an envelope claiming another tenant is
 * refused (`TENANT_MISMATCH`).
 */
export class RunsDoor {
  readonly #runs: RunService;
  #subscription: Subscription<unknown> | undefined;
  #inFlight = 0;
  readonly #maxInFlight: number;
  readonly #maxPayloadBytes: number;

  private constructor(runs: RunService, options: RunsDoorOptions) {
    this.#runs = runs;
    this.#maxInFlight = options.maxInFlight ?? 256;
    this.#maxPayloadBytes = options.maxPayloadBytes ?? 64 * 1024;
  }

  /** Subscribes on `bus`; resolves once the subscription is in place. */
  static async open(runs: RunService, bus: Bus, options: RunsDoorOptions = {}): Promise<RunsDoor> {
    const door = new RunsDoor(runs, options);
    door.#subscription = await withoutTenant(() =>
      bus.subscribe(RUNS_PATTERN, (message) => door.#handle(message), {
        queue: options.queue ?? 'agentfleet-runs',
        concurrency: door.#maxInFlight,
        buffer: door.#maxInFlight,
        whenFull: 'drop-newest',
      }),
    );
    return door;
  }

  #handle(message: Envelope<unknown>): Promise<unknown> | undefined {
    const tenant = message.topic.split('.')[1] ?? '';
    if (tenant === SYSTEM_TENANT_TOKEN || tenant === '')
      return Promise.reject(new IngressRequestInvalidError('runs have a tenant', message.topic));
    if (message.tenant !== undefined && message.tenant !== tenant)
      return Promise.reject(new IngressTenantMismatchError(tenant, message.tenant));
    const replyTo = message.plain === undefined ? undefined : message.replyTo;
    if (replyTo?.startsWith('agent.') && !replyTo.startsWith(`agent.${tenant}.`)) return undefined;
    const size = message.bytes ?? Buffer.byteLength(JSON.stringify(message.payload ?? null) ?? '');
    if (size > this.#maxPayloadBytes)
      return Promise.reject(new MessageTooLargeError(size, this.#maxPayloadBytes, message.topic));
    const parsed = requestSchema.safeParse(message.payload);
    if (!parsed.success)
      return Promise.reject(
        new IngressRequestInvalidError(
          `the payload must be { op: get|list|events|cancel|approvals|approval|decide, … }: ${parsed.error.issues
            .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
            .join('; ')}`,
          message.topic,
        ),
      );
    if (this.#inFlight >= this.#maxInFlight)
      return Promise.reject(new IngressOverloadedError('total', this.#maxInFlight, tenant));
    this.#inFlight++;
    return withTenant(tenant, () => this.#answer(parsed.data)).finally(() => {
      this.#inFlight--;
    });
  }

  async #answer(request: RunsRequest): Promise<unknown> {
    const runs = this.#runs;
    try {
      switch (request.op) {
        case 'get':
          return { run: await runs.get(request.runId) };
        case 'list':
          return {
            runs: await runs.list({
              agentId: request.agentId,
              status: request.status,
              limit: request.limit,
              before: request.before,
            }),
          };
        case 'events':
          return { events: await runs.events(request.runId, request.after ?? 0, request.limit ?? 1_000) };
        case 'cancel':
          return { run: await runs.cancel(request.runId, request.reason) };
        case 'approvals':
          return {
            approvals: await runs.listApprovals({
              status: request.status,
              runId: request.runId,
              limit: request.limit,
              after: request.after,
            }),
          };
        case 'approval':
          return { approval: await runs.getApproval(request.approvalId) };
        case 'decide':
          return {
            approval: await runs.decide(request.approvalId, {
              approve: request.approve,
              arguments: request.arguments,
              reason: request.reason,
            }),
          };
      }
    } catch (error) {
      throw publicError(error);
    }
  }

  /** Unsubscribes; idempotent. */
  async close(): Promise<void> {
    const subscription = this.#subscription;
    this.#subscription = undefined;
    await subscription?.close();
  }
}
