#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AgentfleetError } from './errors/index.ts';

const USAGE = `Usage: agentfleet serve [options]

Runs the Agentfleet server with in-memory defaults.

Options:
  --port <n>      TCP port (env PORT, default 8080)
  --host <addr>   interface to bind (env HOST, default 0.0.0.0)
  --workers <n>   processes sharing the port (env AGENTFLEET_WORKERS, default 1)
  -h, --help      show this help
  -v, --version   print the version

Other settings come from the environment; see the README's "Configuration".`;

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
  if (positionals[0] !== 'serve' || positionals.length > 1) {
    console.error(`agentfleet: unknown command "${positionals.join(' ')}"\n\n${USAGE}`);
    return 2;
  }
  const { loadServerConfig } = await import('./config/index.ts');
  const { serve } = await import('./server/index.ts');
  try {
    await serve(
      loadServerConfig(process.env, { port: values.port, host: values.host, workers: values.workers }),
    );
  } catch (error) {
    if (AgentfleetError.isInstance(error) && error.code === 'CONFIG_INVALID') {
      console.error(`agentfleet: ${error.message}`);
      return 2;
    }
    throw error;
  }
  return 0;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      workers: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  if (code !== 0) process.exitCode = code;
}
