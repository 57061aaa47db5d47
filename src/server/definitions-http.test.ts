// Tenant definitions over real HTTP on a started server: a tenant PUTs specs (JSON and YAML),
// reads and lists them beside the node's, creates and messages agents from them; other tenants
// see none of it; bad specs, specs reaching for the node's resources and over-limit ones are refused.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { TEST_ADMIN_KEY } from '../../test/server-auth.ts';
import { loadServerConfig } from '../config/index.ts';
import { type RunningServer, startServer } from './start-server.ts';

const ADMIN = `Bearer ${TEST_ADMIN_KEY}`;
const AGENTS_DIR = fileURLToPath(new URL('../../agents', import.meta.url));
let app: RunningServer;
let base: string;
let alice: string;
let bob: string;

async function call(
  method: string,
  path: string,
  authorization: string,
  body?: unknown,
  contentType = 'application/json',
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies of many shapes
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { authorization };
  if (body !== undefined) headers['content-type'] = contentType;
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function newTenant(id: string): Promise<string> {
  const created = await call('POST', '/v1/tenants', ADMIN, { id });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return `Bearer ${created.body.key}`;
}

const routing = (name: string) => ({
  name,
  description: 'Routes by priority.',
  cognition: {
    type: 'rules',
    rules: [
      {
        name: 'urgent',
        when: { path: 'priority', op: 'eq', value: 'urgent' },
        decision: 'page',
        reason: 'urgent pages',
      },
    ],
    otherwise: { decision: 'queue', reason: 'the rest queue' },
  },
});

const YAML_SPEC = `name: greeter
description: Answers hello to a hello.
cognition:
  type: rules
  rules:
    - name: hello
      when: { path: text, op: matches, value: "^hello", flags: i }
      decision: greet
      reason: A greeting gets a greeting
  otherwise:
    decision: ignore
    reason: Nothing to say
`;

before(async () => {
  app = await startServer(
    loadServerConfig(
      { AGENTFLEET_AGENTS: AGENTS_DIR },
      { port: 0, host: '127.0.0.1', logLevel: 'silent', adminKey: TEST_ADMIN_KEY },
    ),
    pino({ level: 'silent' }),
  );
  base = `http://127.0.0.1:${app.port}`;
  alice = await newTenant('alice');
  bob = await newTenant('bob');
});
after(async () => {
  await app.shutdown();
});

describe('tenant definitions over HTTP', () => {
  it('PUTs JSON and YAML specs, reads, lists beside the node’s, creates and messages agents', async () => {
    const put = await call('PUT', '/v1/definitions/router', alice, routing('router'));
    assert.equal(put.status, 201, JSON.stringify(put.body));
    assert.equal(put.body.name, 'router');
    const again = await call('PUT', '/v1/definitions/router', alice, routing('router'));
    assert.equal(again.status, 200, 'a replaced definition answers 200');
    const yaml = await call('PUT', '/v1/definitions/greeter', alice, YAML_SPEC, 'application/yaml');
    assert.equal(yaml.status, 201, JSON.stringify(yaml.body));
    assert.equal(yaml.body.cognition.type, 'rules');

    const got = await call('GET', '/v1/definitions/greeter', alice);
    assert.equal(got.status, 200);
    assert.equal(got.body.description, 'Answers hello to a hello.');

    const listed = (await call('GET', '/v1/definitions', alice)).body.definitions as Array<{
      name: string;
      scope: string;
    }>;
    const scopeOf = (name: string) => listed.filter((d) => d.name === name).map((d) => d.scope);
    assert.deepEqual(scopeOf('router'), ['tenant']);
    assert.deepEqual(scopeOf('greeter'), ['tenant']);
    assert.deepEqual(scopeOf('triage'), ['node'], 'the node’s agents folder is listed too');

    const created = await call('POST', '/v1/agents', alice, { definition: 'router', id: 'r1' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const urgent = await call('POST', '/v1/agents/r1/messages', alice, { input: { priority: 'urgent' } });
    assert.equal(urgent.status, 200, JSON.stringify(urgent.body));
    assert.match(JSON.stringify(urgent.body.output), /page/);
    const calm = await call('POST', '/v1/agents/r1/messages', alice, { input: { priority: 'low' } });
    assert.match(JSON.stringify(calm.body.output), /queue/);

    assert.equal((await call('POST', '/v1/agents', alice, { definition: 'greeter', id: 'g1' })).status, 201);
    const hello = await call('POST', '/v1/agents/g1/messages', alice, { input: { text: 'Hello there' } });
    assert.equal(hello.status, 200, JSON.stringify(hello.body));
    assert.match(JSON.stringify(hello.body.output), /greet/);
  });

  it('versions: a PUT names its version, a POST keeps one beside the current, GET lists them', async () => {
    const res = await fetch(`${base}/v1/definitions/vers`, {
      method: 'PUT',
      headers: { authorization: alice, 'content-type': 'application/json' },
      body: JSON.stringify({ ...routing('vers'), version: 'blue' }),
    });
    assert.equal(res.status, 201);
    assert.match(res.headers.get('agentfleet-version') ?? '', /^blue@[0-9a-f]{12}$/);
    await res.text();
    const staged = await call('POST', '/v1/definitions/vers/versions', alice, {
      ...routing('vers'),
      version: 'green',
      description: 'next',
    });
    assert.equal(staged.status, 201, JSON.stringify(staged.body));
    assert.equal(staged.body.label, 'green');
    assert.equal(staged.body.current, false);
    const listed = await call('GET', '/v1/definitions/vers/versions', alice);
    assert.deepEqual(
      listed.body.versions.map((v: { label: string; current: boolean }) => [v.label, v.current]),
      [
        ['blue', true],
        ['green', false],
      ],
    );
    assert.equal((await call('GET', '/v1/definitions/vers', alice)).body.version, 'blue');
    assert.equal((await call('GET', '/v1/definitions/vers/versions', bob)).status, 404);
    const bad = await call('POST', '/v1/definitions/vers/versions', alice, { name: 'vers' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'SPEC_INVALID');
    assert.equal((await call('GET', '/v1/definitions/vers/versions', alice)).body.versions.length, 2);
  });

  it('another tenant cannot see, list or use them', async () => {
    await call('PUT', '/v1/definitions/secret', alice, routing('secret'));
    const got = await call('GET', '/v1/definitions/secret', bob);
    assert.equal(got.status, 404);
    assert.equal(got.body.error.code, 'DEFINITION_NOT_FOUND');
    const listed = (await call('GET', '/v1/definitions', bob)).body.definitions as Array<{ name: string }>;
    assert.ok(!listed.some((d) => d.name === 'secret'));
    assert.ok(
      listed.some((d) => d.name === 'triage'),
      'the node’s are listed for every tenant',
    );
    const spawn = await call('POST', '/v1/agents', bob, { definition: 'secret' });
    assert.equal(spawn.status, 404, JSON.stringify(spawn.body));
    assert.equal(spawn.body.error.code, 'DEFINITION_NOT_FOUND');
    const del = await call('DELETE', '/v1/definitions/secret', bob);
    assert.equal(del.status, 404);
    assert.equal((await call('GET', '/v1/definitions/secret', alice)).status, 200, 'still alice’s');
  });

  it('a bad spec answers 400 SPEC_INVALID naming every bad path', async () => {
    const bad = {
      name: 'broken',
      cognition: { type: 'llm', model: 'openai/m', temperature: 9, maxSteps: 0 },
      concurrency: -1,
    };
    const res = await call('PUT', '/v1/definitions/broken', alice, bad);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.error.code, 'SPEC_INVALID');
    const text = JSON.stringify(res.body.error);
    for (const path of ['cognition.temperature', 'cognition.maxSteps', 'concurrency'])
      assert.ok(text.includes(path), `${path} named in ${text}`);
    const mismatch = await call('PUT', '/v1/definitions/other', alice, routing('router'));
    assert.equal(mismatch.status, 400);
    assert.equal(mismatch.body.error.code, 'SPEC_INVALID');
    const unparsable = await call('PUT', '/v1/definitions/y', alice, 'name: [unclosed', 'application/yaml');
    assert.equal(unparsable.status, 400);
    assert.equal(unparsable.body.error.code, 'SPEC_INVALID');
    assert.equal((await call('GET', '/v1/definitions/broken', alice)).status, 404, 'nothing was stored');
  });

  it('refuses specs that reach for the node’s files, processes or built-ins', async () => {
    const cases: Array<[string, unknown, string]> = [
      [
        'file',
        { name: 'file', cognition: { type: 'llm', model: 'openai/m', systemFile: '/etc/passwd' } },
        'cognition.systemFile',
      ],
      [
        'proc',
        {
          name: 'proc',
          cognition: { type: 'llm', model: 'openai/m' },
          tools: [{ type: 'mcp', command: 'sh', args: ['-c', 'id'] }],
        },
        'tools.0.command',
      ],
      ['built', { name: 'built', cognition: { type: 'builtin', name: 'act' } }, 'cognition.type'],
      [
        'docs',
        { name: 'docs', cognition: { type: 'knowledge' }, knowledge: { documents: ['/etc/hosts'] } },
        'knowledge.documents',
      ],
    ];
    for (const [name, spec, path] of cases) {
      const res = await call('PUT', `/v1/definitions/${name}`, alice, spec);
      assert.equal(res.status, 400, `${name}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'SPEC_INVALID');
      assert.ok(JSON.stringify(res.body.error).includes(path), `${name} names ${path}`);
      assert.equal((await call('GET', `/v1/definitions/${name}`, alice)).status, 404);
    }
  });

  it('over-limit size and count answer their typed errors', async () => {
    const huge = { ...routing('huge'), description: 'x'.repeat(70_000) };
    const big = await call('PUT', '/v1/definitions/huge', alice, huge);
    assert.equal(big.status, 413, JSON.stringify(big.body));
    assert.equal(big.body.error.code, 'SPEC_TOO_LARGE');

    const carol = await newTenant('carol');
    let created = 0;
    for (let i = 0; ; i++) {
      const res = await call('PUT', `/v1/definitions/d${i}`, carol, routing(`d${i}`));
      if (res.status !== 201) {
        assert.equal(res.body.error.code, 'DEFINITION_LIMIT', JSON.stringify(res.body));
        assert.equal(res.status, 409);
        break;
      }
      created++;
      assert.ok(created <= 1000, 'a limit exists');
    }
    assert.equal(created, 100, 'the default limit is 100 per tenant');
    assert.equal(
      (await call('PUT', '/v1/definitions/d0', carol, routing('d0'))).status,
      200,
      'replacing is fine',
    );
    assert.equal((await call('PUT', '/v1/definitions/r', bob, routing('r'))).status, 201, 'per tenant');
  });

  it('DELETE removes it; agents created from it keep running', async () => {
    await call('PUT', '/v1/definitions/temp', alice, routing('temp'));
    assert.equal((await call('POST', '/v1/agents', alice, { definition: 'temp', id: 't1' })).status, 201);
    const del = await call('DELETE', '/v1/definitions/temp', alice);
    assert.equal(del.status, 200);
    assert.deepEqual(del.body, { deleted: 'temp' });
    assert.equal((await call('GET', '/v1/definitions/temp', alice)).status, 404);
    const listed = (await call('GET', '/v1/definitions', alice)).body.definitions as Array<{ name: string }>;
    assert.ok(!listed.some((d) => d.name === 'temp'));
    const spawn = await call('POST', '/v1/agents', alice, { definition: 'temp' });
    assert.equal(spawn.body.error.code, 'DEFINITION_NOT_FOUND');
    assert.equal((await call('DELETE', '/v1/definitions/temp', alice)).status, 404);
    const still = await call('POST', '/v1/agents/t1/messages', alice, { input: { priority: 'urgent' } });
    assert.equal(still.status, 200);
  });
});
