#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AgentfleetError } from './errors/index.ts';

const USAGE = `Usage: agentfleet serve [options]
       agentfleet validate [DIR]
       agentfleet provenance verify [--tenant T] [--config <file>]
       agentfleet rollout start|status|pause|resume|promote|abort NAME [options]

serve      runs a node and its HTTP server, with in-memory defaults.
validate   checks the agent specs in DIR (default ./agents) without starting anything.
rollout    drives a canary rollout of the definition NAME on a running server (over HTTP):
           start --to VERSION [--steps 5,30,100] [--hold-ms 60000], status, pause, resume,
           promote (to 100% at once), abort (back to the current version). --url (env
           AGENTFLEET_URL, default http://127.0.0.1:8080) and --key (env AGENTFLEET_KEY: a
           tenant's key for its definitions, the admin key for the node's own).
provenance verify
           checks the hash chain of every tenant's provenance records (or of --tenant's) in
           the store the config names; exit 1 and the first broken link when one is broken.

Options of serve:
  --config <file>  config file, YAML or JSON (default ./agentfleet.yaml when it exists)
  --agents <dir>   agent specs folder (env AGENTFLEET_AGENTS, default ./agents when it exists)
  --port <n>       TCP port (env PORT, default 8080)
  --host <addr>    interface to bind (env HOST, default 0.0.0.0)
  --workers <n>    processes sharing the port (env AGENTFLEET_WORKERS, default 1); more than
                   one needs --cluster, so that they serve as one server
  --cluster <url>  join a cluster through NATS JetStream: nats://host:4222 (env AGENTFLEET_CLUSTER,
                   default off); the bus and the run store default to it
  --bus <url>      memory, nats://host:4222 or mqtt://host:1883 (env AGENTFLEET_BUS, default memory)
  -h, --help       show this help
  -v, --version    print the version

Flags win over the environment, the environment over the file; see the README's "Configuration".`;

/** Parses the command line and runs it; returns the exit code for errors it reports itself. */
export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    console.error(`agentfleet: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    console.log(pkg.version);
    return 0;
  }
  if (values.help || positionals.length === 0) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const [command, ...rest] = positionals;
  if (command === 'validate' && rest.length <= 1) return validate(rest[0] ?? 'agents');
  if (command === 'provenance' && rest.length === 1 && rest[0] === 'verify') return provenance(values);
  if (command === 'rollout') return rollout(rest, values);
  if (command !== 'serve' || rest.length > 0) {
    console.error(`agentfleet: unknown command "${positionals.join(' ')}"\n\n${USAGE}`);
    return 2;
  }
  const { loadNodeConfig } = await import('./config/index.ts');
  const { serve } = await import('./cli/index.ts');
  let config: Awaited<ReturnType<typeof loadNodeConfig>>;
  try {
    config = loadNodeConfig({
      file: values.config,
      env: process.env,
      flags: {
        port: values.port,
        host: values.host,
        workers: values.workers,
        cluster: values.cluster,
        bus: values.bus,
        agentsDir: values.agents,
      },
    });
  } catch (error) {
    if (AgentfleetError.isInstance(error) && error.code === 'CONFIG_INVALID') {
      console.error(`agentfleet: ${error.message}`);
      return 2;
    }
    throw error;
  }
  await serve(config);
  return 0;
}

/** `agentfleet provenance verify`: the config as `serve` loads it, then every chain (or one tenant's). */
async function provenance(values: ReturnType<typeof parse>['values']): Promise<number> {
  const { loadNodeConfig } = await import('./config/index.ts');
  const { verifyProvenance } = await import('./cli/index.ts');
  let config: Awaited<ReturnType<typeof loadNodeConfig>>;
  try {
    config = loadNodeConfig({ file: values.config, env: process.env });
  } catch (error) {
    if (AgentfleetError.isInstance(error) && error.code === 'CONFIG_INVALID') {
      console.error(`agentfleet: ${error.message}`);
      return 2;
    }
    throw error;
  }
  return verifyProvenance(config, values.tenant);
}

/** `agentfleet rollout ACTION NAME`: the server's rollout API over HTTP. */
async function rollout(args: string[], values: ReturnType<typeof parse>['values']): Promise<number> {
  const { ROLLOUT_ACTIONS, runRolloutCommand } = await import('./cli/index.ts');
  const [action, name] = args;
  if (args.length !== 2 || !(ROLLOUT_ACTIONS as readonly string[]).includes(action!)) {
    console.error(`agentfleet: rollout takes ${ROLLOUT_ACTIONS.join('|')} and a definition name\n\n${USAGE}`);
    return 2;
  }
  return runRolloutCommand({
    action: action as (typeof ROLLOUT_ACTIONS)[number],
    name: name!,
    url: values.url ?? process.env.AGENTFLEET_URL ?? 'http://127.0.0.1:8080',
    key: values.key ?? process.env.AGENTFLEET_KEY,
    to: values.to,
    steps: values.steps,
    holdMs: values['hold-ms'],
  });
}

/** `agentfleet validate DIR`: checks agent specs without starting anything; exit 0 when all are valid, 1 otherwise. */
async function validate(dir: string): Promise<number> {
  const { formatAgentsFolderReport, validateAgentsFolder } = await import('./spec/index.ts');
  const report = await validateAgentsFolder(dir);
  (report.ok ? console.log : console.error)(formatAgentsFolderReport(report));
  return report.ok ? 0 : 1;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string' },
      agents: { type: 'string' },
      bus: { type: 'string' },
      cluster: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      workers: { type: 'string' },
      tenant: { type: 'string' },
      url: { type: 'string' },
      key: { type: 'string' },
      to: { type: 'string' },
      steps: { type: 'string' },
      'hold-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  if (code !== 0) process.exitCode = code;
}
