import { z } from 'zod';
import { AgentfleetError, formatIssues } from '../errors/index.ts';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Everything `agentfleet serve` can be told, with its default. */
export const serverConfigSchema = z.object({
  /** TCP port; 0 picks a free one. Env `PORT`, flag `--port`. Default 8080. */
  port: int(0, 65_535).default(8080),
  /** Interface to listen on. Env `HOST`, flag `--host`. Default `0.0.0.0`. */
  host: z.string().min(1).default('0.0.0.0'),
  /** Processes serving the port (node:cluster). Env `AGENTFLEET_WORKERS`, flag `--workers`. Default 1. */
  workers: int(1, 256).default(1),
  /** Largest request body accepted, in bytes. Env `AGENTFLEET_BODY_LIMIT_BYTES`. Default 1 MiB. */
  bodyLimitBytes: int(1, 1024 ** 3).default(1024 * 1024),
  /** Milliseconds a request may take before the server answers 408. Env `AGENTFLEET_REQUEST_TIMEOUT_MS`. Default 30 s. */
  requestTimeoutMs: int(1, 3_600_000).default(30_000),
  /** Milliseconds SIGTERM/SIGINT waits for in-flight requests before closing connections. Env `AGENTFLEET_SHUTDOWN_TIMEOUT_MS`. Default 10 s. */
  shutdownTimeoutMs: int(0, 3_600_000).default(10_000),
  /** Agent steps running at once. Env `AGENTFLEET_POOL_CAPACITY`. Default 1024. */
  poolCapacity: int(1, 1_000_000).default(1024),
  /** Agent steps waiting for a slot. Env `AGENTFLEET_POOL_QUEUE`. Default 10,000. */
  poolQueueLimit: int(0, 100_000_000).default(10_000),
  /** Milliseconds an agent's stop waits before forcing. Env `AGENTFLEET_STOP_TIMEOUT_MS`. Default 5 s. */
  stopTimeoutMs: int(0, 3_600_000).default(5_000),
  /** pino log level. Env `LOG_LEVEL`. Default `info`. */
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type ServerConfig = z.output<typeof serverConfigSchema>;

const ENV_NAMES: Record<keyof ServerConfig, string> = {
  port: 'PORT',
  host: 'HOST',
  workers: 'AGENTFLEET_WORKERS',
  bodyLimitBytes: 'AGENTFLEET_BODY_LIMIT_BYTES',
  requestTimeoutMs: 'AGENTFLEET_REQUEST_TIMEOUT_MS',
  shutdownTimeoutMs: 'AGENTFLEET_SHUTDOWN_TIMEOUT_MS',
  poolCapacity: 'AGENTFLEET_POOL_CAPACITY',
  poolQueueLimit: 'AGENTFLEET_POOL_QUEUE',
  stopTimeoutMs: 'AGENTFLEET_STOP_TIMEOUT_MS',
  logLevel: 'LOG_LEVEL',
};

/** The server config was invalid; the message names each bad setting and where it came from. */
export class ConfigInvalidError extends AgentfleetError {
  constructor(problems: string[]) {
    super('CONFIG_INVALID', `Invalid server configuration: ${problems.join('; ')}`, {
      details: { problems },
    });
  }
}

/**
 * Builds the server config from environment variables, overridden by explicit values
 * (CLI flags or code). Empty strings count as unset.
 * @throws ConfigInvalidError naming each bad value and its environment variable.
 */
export function loadServerConfig(
  env: Record<string, string | undefined> = process.env,
  overrides: Partial<Record<keyof ServerConfig, unknown>> = {},
): ServerConfig {
  const raw: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(ENV_NAMES)) {
    const value = env[name];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  for (const [key, value] of Object.entries(overrides)) if (value !== undefined) raw[key] = value;
  const result = serverConfigSchema.safeParse(raw);
  if (!result.success) {
    throw new ConfigInvalidError(
      formatIssues(result.error).map((problem) => {
        const key = problem.split(':')[0] as keyof ServerConfig;
        const source = overrides[key] !== undefined ? `--${key}` : ENV_NAMES[key];
        return source === undefined ? problem : `${problem} (from ${source}=${JSON.stringify(raw[key])})`;
      }),
    );
  }
  return result.data;
}
