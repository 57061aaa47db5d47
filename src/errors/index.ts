export { raceWithSignal } from './abort.ts';
export {
  AbortedError,
  AgentfleetError,
  type AgentfleetErrorOptions,
  InvalidOptionsError,
} from './agentfleet-error.ts';
export type { BaseErrorCode } from './error-codes.ts';
export { formatIssues, parseOptions } from './parse-options.ts';
export { isRefusal, markRefusal } from './refusal.ts';
