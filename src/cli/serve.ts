import cluster from 'node:cluster';
import type { Logger } from 'pino';
import type { ServerConfig } from '../config/index.ts';
import { createLogger } from '../context/index.ts';
import { type RunningServer, startServer } from '../server/index.ts';
import { generateApiKey } from '../tenancy/index.ts';
import { logStartFailure } from './start-failure.ts';
import { superviseWorkers } from './supervisor.ts';
import { checkWorkerPolicies, openWorkerAutoscaler, workerPolicies } from './worker-autoscaler.ts';

/**
 * Runs a node and its HTTP server until SIGTERM or SIGINT, then drains and exits 0. A start
 * that fails is one fatal JSON log line (`code`, `details`, and a `hint` of what to do; no
 * stack for an Agentfleet error) and exit code 1. With `workers > 1` the primary process forks
 * that many workers sharing the port (node:cluster), restarts any that exit with a growing
 * delay (see `superviseWorkers`), and forwards the signal on shutdown.
 */
export async function serve(config: ServerConfig): Promise<void> {
  const logger = createLogger({ level: config.logLevel });
  if ((config.workers > 1 || workerPolicies(config).length > 0) && cluster.isPrimary) {
    runPrimary(config, logger);
    return;
  }
  let running: RunningServer;
  try {
    running = await startServer(config, logger);
  } catch (error) {
    logStartFailure(logger, error);
    process.exit(1);
  }
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'shutting down');
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    running.shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.fatal({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

function runPrimary(config: ServerConfig, logger: Logger): void {
  if (config.auth === 'keys' && config.adminKey === undefined && config.adminKeySha256 === undefined) {
    // One admin key for every worker: they read their config from the environment.
    const adminKey = generateApiKey().key.replace(/^af_/, 'afadmin_');
    process.env.AGENTFLEET_ADMIN_KEY = adminKey;
    logger.warn('no AGENTFLEET_ADMIN_KEY set: generated an admin key for this run, printed on stderr');
    process.stderr.write(
      `\nagentfleet admin key for this run (set AGENTFLEET_ADMIN_KEY to choose one): ${adminKey}\n\n`,
    );
  }
  if (config.tenants === 'memory') {
    logger.warn(
      'each worker has its own in-memory tenant registry; use AGENTFLEET_TENANTS=postgres://… to share tenants',
    );
  }
  try {
    checkWorkerPolicies(config);
  } catch (error) {
    logStartFailure(logger, error);
    process.exit(1);
  }
  const supervisor = superviseWorkers(
    {
      workers: config.workers,
      restartBaseMs: config.workerRestartBaseMs,
      restartMaxMs: config.workerRestartMaxMs,
      restartLimit: config.workerRestartLimit,
    },
    logger,
  );
  // `workers` policies: the primary resizes its workers from the fleet's figures in Prometheus.
  const autoscaler = openWorkerAutoscaler(config, supervisor, logger);
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal, workers: supervisor.info().workers }, 'shutting down workers');
    void autoscaler?.close();
    supervisor.stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
