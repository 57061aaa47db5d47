import type { EventEmitter } from 'node:events';
import type { Bus } from '../bus/index.ts';
import type { AgentRecord } from './agent-record.ts';
import { deltaTopic, type StateDelta, type StateStoreEvents } from './state-types.ts';

/**
 * The store's way out to the bus: builds deltas and publishes them, and expiry/deletion
 * notices, with the record's tenant set explicitly on each envelope. A refused publish is
 * counted and emitted as `publishError`; it never undoes the change.
 */
export class StatePublisher {
  readonly #bus: Bus | undefined;
  readonly #events: EventEmitter<StateStoreEvents>;
  deltas = 0;
  errors = 0;

  constructor(bus: Bus | undefined, events: EventEmitter<StateStoreEvents>) {
    this.#bus = bus;
    this.#events = events;
  }

  /** Publishes the delta taking the record's view from `baseVersion` to its current `viewVersion`. */
  delta(
    record: AgentRecord,
    baseVersion: number,
    changed: Record<string, unknown>,
    removed: string[],
    at: number,
  ): Promise<void> | undefined {
    if (this.#bus === undefined) return undefined;
    const delta: StateDelta = {
      agentId: record.agentId,
      version: record.viewVersion,
      baseVersion,
      changed,
      removed,
      tags: record.context.tags,
      at,
    };
    this.deltas++;
    record.deltaTopic ??= deltaTopic(record.agentId);
    return this.publish(record.deltaTopic, delta, record.tenant);
  }

  /** Publishes `payload` on `topic` for `tenant`; the promise rejects if the bus refuses. */
  publish(topic: string, payload: unknown, tenant: string | undefined): Promise<void> | undefined {
    const bus = this.#bus;
    if (bus === undefined) return undefined;
    const sent = bus.publish(topic, payload, { tenant });
    sent.catch((error: unknown) => {
      this.errors++;
      this.#events.emit('publishError', { topic, error });
    });
    return sent;
  }
}
