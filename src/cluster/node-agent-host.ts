import { randomBytes } from 'node:crypto';
import { currentTenantId } from '../context/index.ts';
import { type AgentInfo, InvalidInputError, type Runtime } from '../core/index.ts';
import { AgentfleetError } from '../errors/index.ts';
import { newRunId, type RunService } from '../runs/index.ts';
import type { AgentStateStore } from '../state/index.ts';
import type { AgentRecord } from './agent-record.ts';
import type { CreateFleetAgent, FleetSendOptions, StateCall } from './fleet.ts';
import type { AgentCall, AgentStateSnapshot, FleetHost } from './fleet-host.ts';

/** What a `NodeAgentHost` runs agents with. */
export interface NodeAgentHostParts {
  runtime: Runtime;
  /** The agents' state; without it state calls answer `STATE_UNAVAILABLE`. */
  state?: AgentStateStore;
  /** Durable runs; without it a durable agent's message is a plain send. */
  runs?: RunService;
  /** Whether agents live in a cluster (new ids are then random, not a node's sequence). */
  clustered?: boolean;
  /** Tenants' own definitions shared over the cluster: catches up with them when one is missing here. */
  definitions?: { ensure(tenant: string, name: string): Promise<void> };
}

/**
 * The node's side of its fleet: each call on an agent run on this node's runtime, state store
 * and runs, in the caller's tenant; and, in a cluster, an agent brought into memory from its
 * record (made from its definition, its state restored, its unfinished runs resumed) and taken
 * out again.
 */
export class NodeAgentHost implements FleetHost {
  readonly #runtime: Runtime;
  readonly #stateStore: AgentStateStore | undefined;
  readonly #runs: RunService | undefined;
  readonly #clustered: boolean;
  readonly #definitions: NodeAgentHostParts['definitions'];

  constructor(parts: NodeAgentHostParts) {
    this.#runtime = parts.runtime;
    this.#stateStore = parts.state;
    this.#runs = parts.runs;
    this.#clustered = parts.clustered ?? false;
    this.#definitions = parts.definitions;
  }

  get #state(): AgentStateStore {
    if (this.#stateStore === undefined)
      throw new AgentfleetError('STATE_UNAVAILABLE', 'This node keeps no agent state.');
    return this.#stateStore;
  }

  has(id: string): boolean {
    return this.#runtime.get(id) !== undefined;
  }

  prepare(agent: CreateFleetAgent): { id: string; definition: string; config?: unknown } {
    // Ids a node makes up are unique only on that node: in a cluster, a random one.
    const id =
      agent.id ?? (this.#clustered ? `${agent.definition}-${randomBytes(5).toString('hex')}` : undefined);
    const prepared = this.#runtime.prepare(agent.definition, { id, config: agent.config });
    return agent.config === undefined ? { id: prepared.id, definition: prepared.definition } : prepared;
  }

  canActivate(definition: string): boolean {
    return this.#runtime.hasDefinition(definition);
  }

  async loadDefinition(definition: string): Promise<void> {
    const tenant = currentTenantId(); // only a tenant's own definitions come from the cluster
    if (tenant !== undefined && !this.canActivate(definition))
      await this.#definitions?.ensure(tenant, definition);
  }

  /** Makes the agent here (a single node's `create`). */
  async create(agent: CreateFleetAgent, start = true): Promise<AgentInfo> {
    const made = this.#runtime.create(agent.definition, { id: agent.id, config: agent.config });
    if (start) await made.start();
    return made.info();
  }

  async activate(record: AgentRecord): Promise<void> {
    const options = { id: record.id, config: record.config };
    const agent =
      record.unstarted === true
        ? this.#runtime.create(record.definition, options)
        : await this.#runtime.spawn(record.definition, options);
    const state = record.state;
    try {
      if (record.stopped === true) await agent.stop();
      if (state !== undefined) {
        if (state.tags.length > 0) this.#state.setTags(record.id, state.tags);
        if (Object.keys(state.values).length > 0) this.#state.set(record.id, state.values);
      }
    } catch (error) {
      await this.#runtime.remove(record.id);
      throw error;
    }
    if (agent.durable) await this.#runs?.resumeAgent(record.id);
  }

  async deactivate(id: string): Promise<AgentStateSnapshot | undefined> {
    const state = this.snapshot(id);
    await this.#runtime.remove(id);
    this.#stateStore?.delete(id);
    return state;
  }

  snapshot(id: string): AgentStateSnapshot | undefined {
    const snapshot = this.#stateStore?.get(id);
    if (snapshot === undefined) return undefined;
    return { values: { ...snapshot.values }, tags: [...snapshot.tags] };
  }

  busy(id: string): boolean {
    const info = this.#runtime.get(id)?.info();
    return (
      (info !== undefined && (info.inFlight > 0 || info.queued > 0)) || (this.#runs?.runningFor(id) ?? 0) > 0
    );
  }

  async invoke(id: string, call: AgentCall, options: FleetSendOptions): Promise<unknown> {
    const agent = this.#runtime.agent(id); // AGENT_NOT_FOUND for unknown ids and other tenants' agents
    switch (call.op) {
      case 'info':
      case 'activate':
        return agent.info();
      case 'send':
        return this.#send(id, agent.durable, call.input, { ...options, runId: call.runId ?? options.runId });
      case 'start':
        await agent.start();
        return agent.info();
      case 'stop': {
        const result = await agent.stop({ timeoutMs: call.timeoutMs, drain: call.drain });
        return { forced: result.forced, agent: agent.info() };
      }
      case 'remove': {
        const result = await this.#runtime.remove(id);
        if (this.#clustered) this.#stateStore?.delete(id);
        return { state: result?.state, forced: result?.forced ?? false };
      }
      case 'resume-run':
        if (this.#runs === undefined)
          throw new AgentfleetError('RUNS_UNAVAILABLE', 'This node keeps no runs.');
        return this.#runs.resume(call.runId);
      case 'state':
        return this.#stateCall(id, call.state);
    }
  }

  async #send(id: string, durable: boolean, input: unknown, options: FleetSendOptions): Promise<unknown> {
    const runs = this.#runs;
    if (!durable || runs === undefined) {
      const output = await this.#runtime.send(id, input, {
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
      });
      return { output: output === undefined ? null : output };
    }
    // A durable agent's message is a run: whoever asked leaving does not cancel it.
    const text = durableRunInput(input);
    const runId = options.runId ?? newRunId();
    const output = await runs.send(id, text, {
      runId,
      ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent as (part: unknown) => void }),
    });
    return { output: output === undefined ? null : output, runId };
  }

  #stateCall(id: string, call: StateCall): unknown {
    const store = this.#state;
    switch (call.op) {
      case 'get': {
        const snapshot = store.get(id);
        if (snapshot === undefined)
          throw new AgentfleetError(
            'STATE_NOT_FOUND',
            `Agent "${id}" has no state (none yet, or it expired).`,
          );
        return snapshot;
      }
      case 'patch': {
        const tagged = call.tags === undefined ? undefined : store.setTags(id, call.tags);
        const updated = call.values === undefined ? undefined : store.set(id, call.values);
        const last = updated ?? tagged;
        if (last === undefined) throw new InvalidInputError('state patch', id, ['send values, tags or both']);
        return {
          version: last.version,
          changed: updated?.changed ?? [],
          removed: updated?.removed ?? [],
          published: [...new Set([...(tagged?.published ?? []), ...(updated?.published ?? [])])],
        };
      }
      case 'delete':
        return { deleted: store.delete(id) };
    }
  }
}

/** The text a durable (LLM) run starts from: a string, or `{ content: string }`. @throws AgentfleetError `INVALID_REQUEST` otherwise. */
export function durableRunInput(input: unknown): string {
  if (typeof input === 'string') return input;
  const content = (input as { content?: unknown } | null)?.content;
  if (typeof content === 'string') return content;
  throw new AgentfleetError(
    'INVALID_REQUEST',
    'A durable agent takes a string input (or { content: string }).',
  );
}
