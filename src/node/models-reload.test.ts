import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it, type TestContext } from 'node:test';
import pino from 'pino';
import { eventually, liveResources, noMoreResourcesThan, rejectsWithCode } from '../../test/helpers.ts';
import { startVendorServer, type VendorServer } from '../../test/vendors/server.ts';
import { createNode } from './index.ts';

const ask = { model: 'm', messages: [{ role: 'user' as const, content: 'hi' }] };
const modelsAt = (server: VendorServer, extra: object = {}) => ({
  providers: { p: { kind: 'openai', baseUrl: `${server.url}/v1`, apiKey: 'k' } },
  ...extra,
});

/** A logger whose lines the test reads. */
function capturedLogger(): { logger: pino.Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

async function folder(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'agentfleet-models-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes as editors do: a new file renamed over the old one. */
async function replace(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text);
  await rename(`${path}.tmp`, path);
}

describe('node models file', () => {
  it('serves a change of the file without a restart; refuses garbage, keeps serving and counts it', async (t) => {
    const baseline = liveResources();
    const a = await startVendorServer();
    const b = await startVendorServer();
    const dir = await folder(t);
    const file = join(dir, 'models.json');
    await writeFile(file, JSON.stringify(modelsAt(a, { version: 'one' })));
    const { logger, lines } = capturedLogger();
    const node = await createNode(
      { logLevel: 'silent', auth: 'none', modelsFile: file },
      { logger, env: {} },
    );
    const { provider } = node.models.resolve('p/m');
    await provider.generate(ask);
    assert.equal(a.calls.length, 1);
    assert.match(node.models.version, /^one@[0-9a-f]{12}$/);

    await replace(file, JSON.stringify(modelsAt(b, { version: 'two' })));
    await eventually(() => node.models.version.startsWith('two@'), 5_000);
    await provider.generate(ask);
    assert.equal(b.calls.length, 1, 'the new base URL, through the provider resolved before');
    assert.ok(lines.some((l) => l.msg === 'models reloaded'));

    await writeFile(file, '{ garbage');
    await eventually(() => lines.some((l) => l.level === 40 && /models file refused/.test(l.msg)), 5_000);
    assert.match(node.models.version, /^two@/);
    await provider.generate(ask);
    assert.equal(b.calls.length, 2, 'the old config keeps serving');
    const metric = await node.metrics.registry.getSingleMetricAsString('agentfleet_models_reloads_total');
    const count = (outcome: string) =>
      Number(
        new RegExp(`agentfleet_models_reloads_total\\{outcome="${outcome}"\\} (\\d+)`).exec(metric)?.[1],
      );
    assert.ok(count('invalid') >= 1, metric); // an editor's write may be seen in two steps
    assert.equal(count('ok'), 1, metric);

    // By hand: re-reading the garbage is refused; a config object is served, prices too.
    await rejectsWithCode(node.reloadModels(), 'PROVIDER_CONFIG_INVALID');
    const price = { 'p/m': { inputPerMillion: 1_000_000, outputPerMillion: 0 } };
    await rejectsWithCode(node.reloadModels(modelsAt(a, { prices: { bad: {} } })), 'INVALID_OPTIONS');
    const summary = await node.reloadModels(modelsAt(a, { prices: price }));
    assert.deepEqual(summary.changed, ['p']);
    await provider.generate(ask);
    assert.equal(a.calls.length, 2);
    const reservation = node.budgets.reserve({ agentId: 'x', model: 'p/m', request: ask });
    assert.equal(
      reservation.settle({ inputTokens: 1, outputTokens: 0, reported: true }),
      1,
      'the new prices',
    );

    await node.close();
    await a.close();
    await b.close();
    await noMoreResourcesThan(baseline);
  });

  it('an invalid models file fails the start with its typed error, leaving nothing open', async (t) => {
    const dir = await folder(t);
    const file = join(dir, 'models.json');
    const baseline = liveResources();
    await writeFile(file, JSON.stringify({ providers: { p: { baseUrl: 'ftp://x' } } }));
    await rejectsWithCode(
      createNode({ logLevel: 'silent', modelsFile: file }, { env: {} }),
      'INVALID_OPTIONS',
    );
    await writeFile(file, JSON.stringify({ providers: {}, prices: { nope: 1 } }));
    await rejectsWithCode(
      createNode({ logLevel: 'silent', modelsFile: file }, { env: {} }),
      'INVALID_OPTIONS',
    );
    await rejectsWithCode(
      createNode({ logLevel: 'silent', modelsFile: join(dir, 'missing.json') }, { env: {} }),
      'PROVIDER_CONFIG_INVALID',
    );
    await noMoreResourcesThan(baseline);
  });

  it('modelsFile and inline models together are a config error', async () => {
    await rejectsWithCode(
      createNode({ logLevel: 'silent', modelsFile: 'models.json', models: { providers: {} } }),
      'CONFIG_INVALID',
    );
  });

  it('a node without a models file reloads from a config object, not from nothing', async (t) => {
    const a = await startVendorServer();
    t.after(() => a.close());
    const node = await createNode(
      { logLevel: 'silent', auth: 'none', models: { providers: {} } },
      { env: {} },
    );
    t.after(() => node.close());
    await rejectsWithCode(node.reloadModels(), 'CONFIG_INVALID');
    assert.deepEqual((await node.reloadModels(modelsAt(a))).added, ['p']);
    await node.models.resolve('p/m').provider.generate(ask);
    assert.equal(a.calls.length, 1);
  });
});
