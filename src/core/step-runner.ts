import { tracingEnabled } from '../context/index.ts';
import type { AgentDefinition } from './agent-definition.ts';
import type { Message } from './message.ts';

/**
 * Runs one message through Perception → Cognition → Action. Synchronous stages stay
 * synchronous (a step that never awaits allocates no promise); the first thenable switches
 * to promise chaining. Returns the action's reply, or a promise of it.
 */
export function runStep<Input, Config, Memory>(
  def: AgentDefinition<Input, unknown, Config, Memory>,
  message: Message<Config, Memory>,
): unknown {
  const percept = def.perceive === undefined ? message.input : def.perceive(message.input as Input, message);
  return isThenable(percept) ? percept.then((p) => decide(def, p, message)) : decide(def, percept, message);
}

function decide<Input, Config, Memory>(
  def: AgentDefinition<Input, unknown, Config, Memory>,
  percept: unknown,
  message: Message<Config, Memory>,
): unknown {
  const decision = def.decide(percept, message);
  return isThenable(decision) ? decision.then((d) => act(def, d, message)) : act(def, decision, message);
}

function act<Input, Config, Memory>(
  def: AgentDefinition<Input, unknown, Config, Memory>,
  decision: unknown,
  message: Message<Config, Memory>,
): unknown {
  if (tracingEnabled()) message.decision = decision; // the span's decision.* attributes
  const act = def.act;
  return act === undefined ? decision : act(decision as never, message);
}

/** True for a promise or any object with a `then` method. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}
