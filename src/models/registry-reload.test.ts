import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { eventually, rejectsWithCode, throwsWithCode } from '../../test/helpers.ts';
import { startVendorServer, type VendorServer } from '../../test/vendors/server.ts';
import type { StreamEvent } from '../llm/index.ts';
import { ModelRegistry } from './index.ts';

const ask = { model: 'm', messages: [{ role: 'user' as const, content: 'hi' }] };

async function vendor(t: TestContext, options: { hold?: boolean } = {}): Promise<VendorServer> {
  const server = await startVendorServer(options);
  t.after(() => server.close());
  return server;
}

const at = (server: VendorServer, extra: Record<string, unknown> = {}) => ({
  kind: 'openai',
  baseUrl: `${server.url}/v1`,
  apiKey: 'k',
  ...extra,
});

function registryOf(t: TestContext, config: unknown, drainTimeoutMs?: number): ModelRegistry {
  const registry = ModelRegistry.fromConfig(
    config,
    {},
    drainTimeoutMs === undefined ? {} : { drainTimeoutMs },
  );
  t.after(() => registry.close());
  return registry;
}

async function drain(events: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const seen: StreamEvent[] = [];
  for await (const event of events) seen.push(event);
  return seen;
}

describe('ModelRegistry.reload', () => {
  it('a call in flight finishes on the old client while new calls go to the new base URL; the old one closes after', async (t) => {
    const old = await vendor(t, { hold: true });
    const next = await vendor(t);
    const registry = registryOf(t, { providers: { p: at(old) } });
    const { provider } = registry.resolve('p/m');
    const inFlight = provider.generate(ask);
    const stream = provider.stream(ask)[Symbol.asyncIterator]();
    const firstEvent = stream.next();
    await eventually(() => old.inFlight === 2);

    const summary = registry.reload({ providers: { p: at(next) } }, {});
    assert.deepEqual(
      {
        added: summary.added,
        removed: summary.removed,
        changed: summary.changed,
        unchanged: summary.unchanged,
      },
      { added: [], removed: [], changed: ['p'], unchanged: [] },
    );
    assert.equal(summary.version, registry.version);
    await provider.generate(ask);
    assert.equal(next.calls.length, 1, 'a new call goes to the new base URL through the same facade');
    assert.equal(registry.draining, 1, 'the old client drains');
    assert.ok(old.openSockets > 0);

    old.release();
    assert.equal(typeof (await inFlight).text, 'string', 'the call in flight finished on the old client');
    const rest = [
      (await firstEvent).value as StreamEvent,
      ...(await drain({ [Symbol.asyncIterator]: () => stream })),
    ];
    assert.equal(rest.at(-1)?.type, 'finish', 'so did the stream');
    assert.equal(old.calls.length, 2);
    await registry.drained();
    assert.equal(registry.draining, 0);
    await eventually(() => old.openSockets === 0);
  });

  it('refuses an invalid config with a typed error and keeps serving the old one', async (t) => {
    const old = await vendor(t);
    const next = await vendor(t);
    const registry = registryOf(t, { providers: { p: at(old) } });
    const before = registry.version;
    const { provider } = registry.resolve('p/m');
    throwsWithCode(
      () => registry.reload({ providers: { p: { baseUrl: 'ftp://x' } } }, {}),
      'INVALID_OPTIONS',
    );
    throwsWithCode(() => registry.reload({ provider: {} }, {}), 'INVALID_OPTIONS');
    throwsWithCode(() => registry.reload({ providers: {}, version: 'a@b' }, {}), 'INVALID_OPTIONS');
    // One good provider and one bad: nothing changes, the good one is not swapped either.
    throwsWithCode(
      () => registry.reload({ providers: { p: at(next), q: { apiKey: 'k' } } }, {}),
      'PROVIDER_CONFIG_INVALID',
    );
    throwsWithCode(
      () => registry.reload({ providers: { p: at(next, { resilience: { retry: { attempts: -1 } } }) } }, {}),
      'RESILIENCE_CONFIG_INVALID',
    );
    assert.equal(registry.version, before);
    await provider.generate(ask);
    assert.equal(old.calls.length, 1);
    assert.equal(next.calls.length, 0);
    assert.equal(registry.draining, 0);
    throwsWithCode(() => registry.resolve('q/m'), 'UNKNOWN_PROVIDER');
  });

  it('a removed provider fails with PROVIDER_REMOVED; added again, the same facade works', async (t) => {
    const server = await vendor(t);
    const registry = registryOf(t, { providers: { p: at(server) } });
    const { provider } = registry.resolve('p/m');
    const summary = registry.reload({ providers: {} }, {});
    assert.deepEqual(summary.removed, ['p']);
    await rejectsWithCode(provider.generate(ask), 'PROVIDER_REMOVED');
    const events = await drain(provider.stream(ask));
    assert.equal(events.length, 1);
    assert.equal(events[0]?.type, 'error');
    assert.equal((events[0] as unknown as { error: { code: string } }).error.code, 'PROVIDER_REMOVED');
    throwsWithCode(() => registry.resolve('p/m'), 'UNKNOWN_PROVIDER');
    assert.deepEqual(registry.reload({ providers: { p: at(server) } }, {}).added, ['p']);
    await provider.generate(ask);
    assert.equal(server.calls.length, 1);
  });

  it('an added provider becomes resolvable', async (t) => {
    const server = await vendor(t);
    const registry = registryOf(t, { providers: {} });
    throwsWithCode(() => registry.resolve('q/m'), 'UNKNOWN_PROVIDER');
    assert.deepEqual(registry.reload({ providers: { q: at(server) } }, {}).added, ['q']);
    await registry.resolve('q/m').provider.generate(ask);
    assert.equal(server.calls.length, 1);
    assert.deepEqual(registry.names(), ['q']);
  });

  it('a deep-equal provider keeps its client and connections; the version is a content hash with its label', async (t) => {
    const server = await vendor(t);
    const registry = registryOf(t, { providers: { p: at(server, { http: { connections: 1 } }) } });
    const { provider } = registry.resolve('p/m');
    await provider.generate(ask);
    assert.equal(server.connections, 1);
    const hash = registry.version;
    assert.match(hash, /^[0-9a-f]{12}$/);
    // Same content, other key order, and a label.
    const reordered = { http: { connections: 1 }, apiKey: 'k', baseUrl: `${server.url}/v1`, kind: 'openai' };
    const summary = registry.reload({ version: 'v2', providers: { p: reordered } }, {});
    assert.deepEqual(summary.unchanged, ['p']);
    assert.deepEqual(summary.changed, []);
    assert.equal(summary.version, `v2@${hash}`);
    assert.equal(registry.draining, 0);
    await provider.generate(ask);
    assert.equal(server.connections, 1, 'no reconnect');
    // A pool size is a change: a new client.
    assert.deepEqual(
      registry.reload({ providers: { p: at(server, { http: { connections: 2 } }) } }, {}).changed,
      ['p'],
    );
    assert.notEqual(registry.version, hash);
    // So is the environment a provider reads its key from.
    const env = registry.reload({ providers: { p: { kind: 'openai', baseUrl: `${server.url}/v1` } } }, {});
    assert.deepEqual(env.changed, ['p']);
    assert.deepEqual(
      registry.reload(
        { providers: { p: { kind: 'openai', baseUrl: `${server.url}/v1` } } },
        { P_API_KEY: 'x' },
      ).changed,
      ['p'],
    );
    await registry.drained();
  });

  it('after the drain timeout the old client is closed anyway, aborting what is in flight', async (t) => {
    const old = await vendor(t, { hold: true });
    const next = await vendor(t);
    const registry = registryOf(t, { providers: { p: at(old) } }, 20);
    const { provider } = registry.resolve('p/m');
    const inFlight = provider.generate(ask);
    await eventually(() => old.inFlight === 1);
    registry.reload({ providers: { p: at(next) } }, {});
    await rejectsWithCode(inFlight, 'ABORTED');
    await registry.drained();
    await eventually(() => old.openSockets === 0);
    await provider.generate(ask);
    assert.equal(next.calls.length, 1);
  });

  it('close ends the draining clients too; afterwards calls and reloads fail with MODELS_CLOSED', async (t) => {
    const old = await vendor(t, { hold: true });
    const next = await vendor(t);
    const registry = ModelRegistry.fromConfig({ providers: { p: at(old) } }, {});
    const { provider } = registry.resolve('p/m');
    const inFlight = provider.generate(ask);
    await eventually(() => old.inFlight === 1);
    registry.reload({ providers: { p: at(next) } }, {});
    const aborted = rejectsWithCode(inFlight, 'ABORTED');
    await registry.close(); // the held call would keep a graceful close waiting: it is aborted
    await aborted;
    assert.equal(registry.draining, 0);
    await rejectsWithCode(provider.generate(ask), 'MODELS_CLOSED');
    throwsWithCode(() => registry.reload({ providers: {} }, {}), 'MODELS_CLOSED');
    await eventually(() => old.openSockets === 0 && next.openSockets === 0);
  });
});
