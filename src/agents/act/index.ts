import { z } from 'zod';
import { defineAgent } from '../../core/index.ts';
import { type Decision, rules } from '../../rules/index.ts';

/** What `/act` answers: the seed's AgentState. `timestamp` is Unix seconds. */
export interface ActResult {
  status: 'EXECUTED' | 'REJECTED';
  reason: string;
  timestamp: number;
}

/** The trust rules: an `X-Trusted: true` header passes, anything else is rejected. */
export const trustRules = rules<{ trusted: boolean }, ActResult['status']>({
  rules: [
    {
      name: 'trusted-header',
      when: { path: 'trusted', op: 'eq', value: true },
      decision: 'EXECUTED',
      reason: 'Auth passed',
    },
  ],
  otherwise: { decision: 'REJECTED', reason: 'Missing trust header' },
});

/**
 * The seed's quick-start agent behind `GET|POST /act`: perceives the `X-Trusted` header,
 * decides with a rule engine, and acts by returning `{ status, reason, timestamp }`.
 * Stateless, so it handles many requests at once.
 */
export const actAgent = defineAgent({
  name: 'act',
  description: 'Trust decision from the X-Trusted header (the seed quick-start agent).',
  input: z.object({ trustHeader: z.string().nullable() }),
  perceive: (input: { trustHeader: string | null }) => ({ trusted: input.trustHeader === 'true' }),
  decide: trustRules,
  act: (decision: Decision<ActResult['status']>): ActResult => ({
    status: decision.value,
    reason: decision.reason,
    timestamp: Math.floor(Date.now() / 1000),
  }),
  concurrency: 100_000,
  mailboxCapacity: 100_000,
});
