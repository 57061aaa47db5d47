import type { WorkerPool } from '../pool/index.ts';
import type { AgentState } from './lifecycle.ts';

/** Who an agent is, as far as its runtime needs to know. */
export interface AgentIdentity {
  readonly agentId: string;
  readonly definition: string;
}

/** What an agent needs from the runtime that owns it. Internal: not exported from the package. */
export interface AgentHost {
  readonly pool: WorkerPool;
  /** Default stop deadline in ms for agents whose definition sets none. */
  readonly stopTimeoutMs: number;
  /** Default mailbox capacity for agents whose definition sets none. */
  readonly mailboxCapacity: number;
  /** Counts the transition and publishes it to listeners. */
  recordTransition(
    agent: AgentIdentity,
    from: AgentState,
    to: AgentState,
    forced: boolean,
    error: unknown,
  ): void;
  /** Reports a failure that has no caller to reject (cleanup after a crash, a late `fail`). */
  reportError(agent: AgentIdentity, error: unknown): void;
  /** For a tenant's agent: an error refusing one more message (a quota), or undefined to accept it. */
  admitMessage(agent: AgentIdentity & { readonly tenant: string | undefined }): Error | undefined;
  /** For a tenant's agent: counts the message as in flight until `settled` settles. */
  trackMessage(
    agent: AgentIdentity & { readonly tenant: string | undefined },
    settled: Promise<unknown>,
  ): void;
  /** Keeps a background promise (cleanup after a crash) so `runtime.close()` can await it. */
  track(work: Promise<unknown>): void;
}
