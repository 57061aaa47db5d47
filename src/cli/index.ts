export { formatReport, verifyProvenance } from './provenance-verify.ts';
export {
  ROLLOUT_ACTIONS,
  type RolloutAction,
  type RolloutCommand,
  rolloutRequest,
  runRolloutCommand,
} from './rollout-command.ts';
export { serve } from './serve.ts';
export { logStartFailure } from './start-failure.ts';
export {
  type Supervisor,
  type SupervisorInfo,
  type SupervisorOptions,
  superviseWorkers,
} from './supervisor.ts';
