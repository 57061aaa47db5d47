// Importing the root export loads no server, exporter or database client: a library user who
// defines and runs agents pays for none of them. Each import runs in a fresh process whose
// module hook records every URL resolved (ES imports, require() and built-ins alike).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** What must not load with the root, each with a test on the resolved URL. */
const HEAVY: Array<[string, (url: string) => boolean]> = [
  ['the HTTP server (src/server/)', (url) => url.startsWith('file:') && url.includes('/src/server/')],
  [
    'the exporters (src/observability/)',
    (url) => url.startsWith('file:') && url.includes('/src/observability/'),
  ],
  ...[
    'redis',
    '@redis/',
    'pg',
    'pg-pool',
    'prom-client',
    'mqtt',
    '@nats-io/',
    '@modelcontextprotocol/sdk',
  ].map((name): [string, (url: string) => boolean] => [
    name,
    (url) => url.includes(name.endsWith('/') ? `/node_modules/${name}` : `/node_modules/${name}/`),
  ]),
  ['@opentelemetry/exporter-*', (url) => url.includes('/node_modules/@opentelemetry/exporter-')],
  ['@opentelemetry/sdk-*', (url) => url.includes('/node_modules/@opentelemetry/sdk-')],
  ['node:cluster', (url) => url === 'node:cluster'],
  ['node:inspector', (url) => url === 'node:inspector' || url === 'node:inspector/promises'],
];

/** Every URL resolved while importing `entry` in a new process, with the URL that imported it. */
async function loadedBy(entry: string): Promise<Map<string, string>> {
  const script = `
    import { registerHooks } from 'node:module';
    const loaded = {};
    registerHooks({
      resolve(specifier, context, next) {
        const result = next(specifier, context);
        loaded[result.url] ??= context.parentURL ?? '';
        return result;
      },
    });
    await import(${JSON.stringify(new URL(entry, import.meta.url).href)});
    process.stdout.write(JSON.stringify(loaded));
  `;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return new Map(Object.entries(JSON.parse(stdout) as Record<string, string>));
}

/** The heavy modules among `loaded`: what each is, its URL and who imported it. */
function heavy(loaded: Map<string, string>): Array<{ what: string; url: string; parent: string }> {
  const found: Array<{ what: string; url: string; parent: string }> = [];
  for (const [url, parent] of loaded) {
    const hit = HEAVY.find(([, matches]) => matches(url));
    if (hit !== undefined) found.push({ what: hit[0], url, parent });
  }
  return found;
}

/** Loaded packages and built-ins by name, with how many files each, for the test's diagnostics. */
function summary(loaded: Map<string, string>): string {
  const counts = new Map<string, number>();
  for (const url of loaded.keys()) {
    const inPackage = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
    const name = inPackage ?? (url.startsWith('node:') ? url : 'agentfleet');
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return [...counts].map(([name, n]) => `${name} ${n}`).join(', ');
}

describe('the root export', () => {
  it('loads no server, exporter or database client', async (t) => {
    const loaded = await loadedBy('./index.ts');
    t.diagnostic(`loaded ${loaded.size} modules: ${summary(loaded)}`);
    const found = heavy(loaded).map(({ what, url, parent }) => `${what}: ${url} <- ${parent}`);
    assert.deepEqual(found, [], `importing agentfleet loaded:\n${found.join('\n')}`);
  });

  it('the check sees them when they do load (agentfleet/server)', async () => {
    const found = new Set(heavy(await loadedBy('./server/index.ts')).map(({ what }) => what));
    for (const expected of ['the HTTP server (src/server/)', 'prom-client', 'node:inspector']) {
      assert.ok(found.has(expected), `${expected} not seen among ${[...found].join(', ')}`);
    }
  });
});
