import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { rolloutRequest, runRolloutCommand } from './rollout-command.ts';

test('each action is its request on the rollout API', () => {
  const base = { name: 'support bot', url: 'http://x', key: undefined };
  assert.deepEqual(rolloutRequest({ ...base, action: 'status' }), {
    method: 'GET',
    path: '/v1/definitions/support%20bot/rollout',
  });
  assert.deepEqual(rolloutRequest({ ...base, action: 'abort' }), {
    method: 'POST',
    path: '/v1/definitions/support%20bot/rollout/abort',
  });
  assert.deepEqual(
    rolloutRequest({ ...base, action: 'start', to: 'v2', steps: '10, 50,100', holdMs: '500' }),
    {
      method: 'POST',
      path: '/v1/definitions/support%20bot/rollout',
      body: { to: 'v2', steps: [10, 50, 100], holdMs: 500 },
    },
  );
});

test('prints the answer, or the error code and message with exit 1; start without --to is usage', async (t) => {
  const seen: Array<{ method?: string; url?: string; auth?: string; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body });
      const missing = req.url?.includes('nope');
      res.writeHead(missing ? 404 : 200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(
          missing
            ? { error: { code: 'ROLLOUT_NOT_FOUND', message: 'No rollout of nope.' } }
            : { status: 'running' },
        ),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => server.close(r)));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const lines: string[] = [];
  const errors: string[] = [];
  const out = { log: (l: string) => lines.push(l), error: (l: string) => errors.push(l) };
  assert.equal(await runRolloutCommand({ action: 'start', name: 'bot', url, key: 'af_k', to: 'v2' }, out), 0);
  assert.deepEqual(JSON.parse(lines[0]!), { status: 'running' });
  assert.deepEqual(seen[0], {
    method: 'POST',
    url: '/v1/definitions/bot/rollout',
    auth: 'Bearer af_k',
    body: '{"to":"v2"}',
  });
  assert.equal(await runRolloutCommand({ action: 'status', name: 'nope', url, key: undefined }, out), 1);
  assert.match(errors[0]!, /ROLLOUT_NOT_FOUND: No rollout of nope/);
  assert.equal(await runRolloutCommand({ action: 'start', name: 'bot', url, key: undefined }, out), 2);
  assert.equal(seen.length, 2, 'a usage error sends nothing');
});
