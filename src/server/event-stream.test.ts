// Event streams notice a client that is already gone, and drop one that does not read.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type Bus, createBus } from '../bus/index.ts';
import { withTenant } from '../context/index.ts';
import { createRuntime, defineAgent, type Runtime } from '../core/index.ts';
import { type AgentStateStore, createStateStore } from '../state/index.ts';
import { type ApiKeyRecord, Authenticator, issueApiKey, MemoryTenantRegistry } from '../tenancy/index.ts';
import { AgentfleetServer } from './http-server.ts';

/** A registry whose key lookups wait until `release()`: auth that awaits slow I/O. */
class SlowRegistry extends MemoryTenantRegistry {
  readonly lookups: Array<() => void> = [];
  readonly #waiting = Promise.withResolvers<void>();
  #lookupStarted = Promise.withResolvers<void>();

  override async findKey(keyId: string): Promise<ApiKeyRecord | undefined> {
    this.#lookupStarted.resolve();
    await this.#waiting.promise;
    return super.findKey(keyId);
  }

  get lookupStarted(): Promise<void> {
    return this.#lookupStarted.promise;
  }

  release(): void {
    this.#waiting.resolve();
  }
}

/** Resolves once `condition()` holds, checking after each turn of the event loop. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

function streamRequest(port: number, authorization: string): Socket {
  const socket = connect(port, '127.0.0.1');
  socket.write(
    `GET /v1/agents/r1/state/stream HTTP/1.1\r\nhost: x\r\nauthorization: ${authorization}\r\n\r\n`,
  );
  return socket;
}

describe('event streams', () => {
  let runtime: Runtime;
  let bus: Bus;
  let store: AgentStateStore;
  let registry: SlowRegistry;
  let server: AgentfleetServer;
  let port: number;
  let authorization: string;
  /** Subscriptions of the state store itself (its snapshot responder). */
  let own: number;

  before(async () => {
    runtime = createRuntime();
    bus = createBus();
    store = await createStateStore({ bus });
    registry = new SlowRegistry();
    await registry.createTenant({ id: 'acme' });
    authorization = `Bearer ${(await issueApiKey(registry, 'acme')).key}`;
    await withTenant('acme', () =>
      runtime.spawn(defineAgent({ name: 'robot', decide: () => 'ok' }), { id: 'r1' }),
    );
    server = new AgentfleetServer({
      runtime,
      auth: { authenticator: new Authenticator({ registry, cacheTtlMs: 60_000 }) },
      state: { store, bus },
      streams: { maxBufferedBytes: 64 * 1024, drainTimeoutMs: 200 },
    });
    port = (await server.listen(0, '127.0.0.1')).port;
    own = bus.stats().subscriptions;
  });
  after(async () => {
    await server.close();
    await runtime.close();
    await store.close();
    await bus.close();
  });

  it('a client that leaves while its key is being looked up leaves no bus subscription', async () => {
    const accepted = once(server.httpServer, 'connection') as Promise<[Socket]>;
    const client = streamRequest(port, authorization);
    const [serverSide] = await accepted;
    await registry.lookupStarted;
    const gone = once(serverSide, 'close');
    client.destroy();
    await gone; // the server has seen the client leave, while the handler still awaits auth
    registry.release();
    await until(() => server.inFlight === 0 || bus.stats().subscriptions > own);
    assert.equal(bus.stats().subscriptions, own, 'no subscription for a client that is gone');
    assert.equal(server.inFlight, 0, 'the handler finished');
  });

  it('a client that stops reading is dropped after the bound, and its subscriptions closed', async () => {
    await registry.lookupStarted; // the key is cached from here on
    registry.release();
    const client = streamRequest(port, authorization);
    let head = '';
    client.setEncoding('utf8');
    const onData = (chunk: string) => {
      head += chunk;
    };
    client.on('data', onData);
    await until(() => head.includes(': connected') && bus.stats().subscriptions === own + 2);
    client.off('data', onData);
    client.pause(); // reads nothing more: the kernel buffers fill, then the server's
    const closedByServer = once(client, 'close');
    await withTenant('acme', () => store.setTags('r1', ['navigation']));
    const blob = 'x'.repeat(30_000);
    let patches = 0;
    // Without a bound this loop would buffer 60 MB in the server; with one, the server drops the client.
    while (bus.stats().subscriptions > own && patches < 2_000) {
      await withTenant('acme', () => store.set('r1', { position: `${patches}${blob}` }));
      patches++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(bus.stats().subscriptions, own, `the stream was dropped (after ${patches} patches)`);
    await until(() => server.inFlight === 0);
    client.resume();
    await closedByServer;
  });
});
