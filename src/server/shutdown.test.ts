// Shutdown under keep-alive load: requests on the wire are answered, later ones refused, none reset.
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createRuntime, defineAgent, type Runtime } from '../core/index.ts';
import { AgentfleetServer } from './http-server.ts';

function get(port: number, path: string, agent: Agent): Promise<{ status: number; connection: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('shutdown under keep-alive load', () => {
  let runtime: Runtime;
  before(async () => {
    runtime = createRuntime();
    await runtime.spawn(defineAgent({ name: 'echo', decide: (input: unknown) => input }), { id: 'e1' });
  });
  after(() => runtime.close());

  it('answers every request already sent, refuses the rest before they are sent, resets none', async () => {
    const server = new AgentfleetServer({ runtime, auth: { authenticator: 'none' } });
    const { port } = await server.listen(0, '127.0.0.1');
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    let answered = 0;
    let answeredWithClose = 0;
    const failures: string[] = [];
    const closing = Promise.withResolvers<void>();
    const loop = async () => {
      for (;;) {
        try {
          const reply = await get(port, answered % 2 === 0 ? '/healthz' : '/v1/agents/e1', agent);
          assert.equal(reply.status, 200);
          answered++;
          if (reply.connection === 'close') answeredWithClose++;
          if (answered === 400) closing.resolve();
        } catch (error) {
          failures.push((error as NodeJS.ErrnoException).code ?? String(error));
          return;
        }
      }
    };
    const loops = Array.from({ length: 16 }, loop);
    await closing.promise; // the load is steady: every socket is busy or about to be
    await server.close({ timeoutMs: 10_000 });
    await Promise.all(loops);
    agent.destroy();
    assert.deepEqual(
      failures.filter((code) => code !== 'ECONNREFUSED'),
      [],
      `every failure is a refused connection (${answered} answered)`,
    );
    assert.ok(answeredWithClose > 0, 'requests during the drain were answered with Connection: close');
    assert.equal(failures.length, 16, 'each client loop ended on a refused connection');
  });
});
