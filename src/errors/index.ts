export { raceWithSignal } from './abort.ts';
export {
  AbortedError,
  AgentfleetError,
  type AgentfleetErrorOptions,
  InvalidOptionsError,
} from './agentfleet-error.ts';
export { formatIssues, parseOptions } from './parse-options.ts';
