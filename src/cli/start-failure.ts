import type { Logger } from 'pino';
import { AgentfleetError } from '../errors/index.ts';
import type { ErrorCode } from '../server/index.ts';

/** What an operator can do about a start that failed with this code. */
const START_HINTS: Partial<Record<ErrorCode, string>> = {
  KNOWLEDGE_STORE_CORRUPT:
    'Restore the named file of AGENTFLEET_KNOWLEDGE_DIR from a backup, or move it aside to start without what it holds.',
  REDIS_UNAVAILABLE: 'Check AGENTFLEET_REDIS_URL and that Redis is reachable from this host.',
  TENANT_REGISTRY_FAILED:
    'Check AGENTFLEET_TENANTS and that the registry it names is reachable and readable.',
  STATE_CONFIG_INVALID: 'Fix the file named in AGENTFLEET_STATE_CONFIG.',
  SPEC_INVALID:
    'Fix the agent specs named in details (run `agentfleet validate DIR`); nothing of the folder was loaded.',
};

/** One fatal line for a failed start: an Agentfleet error as code, message and details, without a stack. */
export function logStartFailure(logger: Logger, error: unknown): void {
  if (AgentfleetError.isInstance(error)) {
    const hint = START_HINTS[error.code as ErrorCode];
    logger.fatal(
      { code: error.code, details: error.details, ...(hint === undefined ? {} : { hint }) },
      `agentfleet could not start: ${error.message}`,
    );
  } else if (typeof (error as NodeJS.ErrnoException)?.code === 'string') {
    // A system error (EADDRINUSE, EACCES): its code and message say it all.
    const { code, message } = error as NodeJS.ErrnoException;
    logger.fatal({ code }, `agentfleet could not start: ${message}`);
  } else logger.fatal({ err: error }, 'agentfleet could not start');
}
