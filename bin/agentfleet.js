#!/usr/bin/env node
// The `agentfleet` command. In a checkout (src/cli.ts beside this folder) it runs the
// TypeScript source through Node's type stripping, so no build step is needed and a stale
// dist/ is never run; in the installed package (no src/) it runs the built dist/cli.js.
// Plain JavaScript, so that it runs before anything is built.
import { existsSync } from 'node:fs';

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(
    `agentfleet: needs Node.js >= 22.18 (ES modules with type stripping); this is Node.js ${process.versions.node}.`,
  );
  process.exit(1);
}

const source = new URL('../src/cli.ts', import.meta.url);
const built = new URL('../dist/cli.js', import.meta.url);
// Node does not strip types under node_modules, so an installed copy always runs dist/.
const fromSource = existsSync(source) && !source.pathname.includes('/node_modules/');
const entry = fromSource ? source : built;
if (!existsSync(entry)) {
  console.error(`agentfleet: ${entry.pathname} is missing; run \`npm run build\` in the package.`);
  process.exit(1);
}
const { main } = await import(entry.href);
const code = await main(process.argv.slice(2));
if (code !== 0) process.exitCode = code;
