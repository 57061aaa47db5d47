import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadNodeConfig } from './load-node-config.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agentfleet-config-'));
});
after(() => rm(dir, { recursive: true, force: true }));

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

const message = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    assert.equal((error as { code?: string }).code, 'CONFIG_INVALID');
    return (error as Error).message;
  }
  assert.fail('expected CONFIG_INVALID');
};

describe('loadNodeConfig', () => {
  it('flags > env > file > defaults, setting by setting', async () => {
    const path = await file(
      'a.yaml',
      'server:\n  port: 7000\n  host: 127.0.0.1\n  workers: 3\nlimits:\n  poolCapacity: 64\nbus:\n  url: nats://127.0.0.1:4222\ncluster:\n  url: nats://127.0.0.1:4222\n  leaseMs: 3000\n',
    );
    const config = loadNodeConfig({
      file: path,
      env: { PORT: '7100', AGENTFLEET_WORKERS: '2' },
      flags: { port: 7200, host: undefined },
      cwd: dir,
    });
    assert.equal(config.port, 7200, 'the flag wins');
    assert.equal(config.workers, 2, 'env over the file');
    assert.equal(config.host, '127.0.0.1', 'the file over the default');
    assert.equal(config.poolCapacity, 64);
    assert.equal(config.bus, 'nats://127.0.0.1:4222');
    assert.equal(config.requestTimeoutMs, 30_000, 'the default');
    assert.equal(config.dataDir, './.agentfleet/');
    assert.equal(config.cluster, 'nats://127.0.0.1:4222');
    assert.equal(config.clusterLeaseMs, 3000);
    assert.equal(config.runs, 'nats://127.0.0.1:4222', 'a cluster keeps runs on its NATS');
  });

  it('models.file (or AGENTFLEET_MODELS_FILE) names a models file; with inline models it is refused', async () => {
    const path = await file('m.yaml', 'models:\n  file: ./models.json\n');
    const config = loadNodeConfig({ file: path, env: {}, cwd: dir });
    assert.equal(config.modelsFile, './models.json');
    assert.equal(config.models, undefined);
    assert.equal(
      loadNodeConfig({ file: false, env: { AGENTFLEET_MODELS_FILE: '/etc/models.json' }, cwd: dir })
        .modelsFile,
      '/etc/models.json',
    );
    const both = await file('both.yaml', 'models:\n  file: ./models.json\n  providers:\n    ollama: {}\n');
    assert.match(
      message(() => loadNodeConfig({ file: both, env: {}, cwd: dir })),
      /modelsFile.*not both/,
    );
    const inline = await file('inline.yaml', 'models:\n  providers:\n    ollama: {}\n');
    assert.match(
      message(() => loadNodeConfig({ file: inline, env: { AGENTFLEET_MODELS_FILE: 'x.json' }, cwd: dir })),
      /not both/,
    );
    const labelled = await file('v.yaml', 'models:\n  version: v7\n  providers:\n    ollama: {}\n');
    assert.equal(loadNodeConfig({ file: labelled, env: {}, cwd: dir }).models?.version, 'v7');
  });

  it('reads JSON, and agentfleet.yaml from the folder by default', async () => {
    const json = await file('c.json', '{"server": {"port": 9100}, "models": {"providers": {"ollama": {}}}}');
    const fromJson = loadNodeConfig({ file: json, env: {}, cwd: dir });
    assert.equal(fromJson.port, 9100);
    assert.deepEqual(fromJson.models, { providers: { ollama: {} } });
    const sub = await mkdtemp(join(dir, 'default-'));
    await writeFile(join(sub, 'agentfleet.yaml'), 'server:\n  port: 9200\n');
    assert.equal(loadNodeConfig({ env: {}, cwd: sub }).port, 9200);
    assert.equal(loadNodeConfig({ env: {}, cwd: sub, file: false }).port, 8080);
  });

  it('names the setting and where its value came from: file and line, env variable, flag', async () => {
    const path = await file('bad.yaml', '# settings\nserver:\n  host: 0.0.0.0\n  port: eighty\n');
    const fromFile = message(() => loadNodeConfig({ file: path, env: {}, cwd: dir }));
    assert.match(fromFile, /port: .*\(from .*bad\.yaml line 4="eighty"\)/);
    const fromEnv = message(() => loadNodeConfig({ file: path, env: { PORT: 'ninety' }, cwd: dir }));
    assert.match(fromEnv, /port: .*\(from PORT="ninety"\)/);
    const fromFlag = message(() => loadNodeConfig({ file: path, env: {}, flags: { port: 'x' }, cwd: dir }));
    assert.match(fromFlag, /port: .*\(from --port="x"\)/);
    const unknown = await file('unknown.yaml', 'server:\n  port: 1\n  prot: 2\nbusses: {}\n');
    const both = message(() => loadNodeConfig({ file: unknown, env: {}, cwd: dir }));
    assert.match(both, /server\.prot: unknown setting \(.*unknown\.yaml line 3\)/);
    assert.match(both, /busses: unknown section \(.*unknown\.yaml line 4\)/);
    const broken = await file('broken.yaml', 'server:\n  port: [1,\n');
    assert.match(
      message(() => loadNodeConfig({ file: broken, env: {}, cwd: dir })),
      /broken\.yaml line \d/,
    );
    assert.match(
      message(() => loadNodeConfig({ file: join(dir, 'none.yaml'), env: {} })),
      /none\.yaml/,
    );
  });

  it('reads the front door’s queue group from bus.frontDoorQueue or the env, and checks it', async () => {
    const path = await file('queue.yaml', 'bus:\n  frontDoorQueue: fleet-a\n');
    assert.equal(loadNodeConfig({ file: path, env: {}, cwd: dir }).busFrontDoorQueue, 'fleet-a');
    const env = { AGENTFLEET_BUS_FRONT_DOOR_QUEUE: 'fleet-b' };
    assert.equal(loadNodeConfig({ file: path, env, cwd: dir }).busFrontDoorQueue, 'fleet-b');
    assert.equal(loadNodeConfig({ file: false, env: {} }).busFrontDoorQueue, undefined);
    const bad = await file('bad-queue.yaml', 'bus:\n  frontDoorQueue: "a b"\n');
    assert.match(
      message(() => loadNodeConfig({ file: bad, env: {}, cwd: dir })),
      /busFrontDoorQueue: .*bad-queue\.yaml line 2/,
    );
  });

  it('provenance: sqlite for the server by default, off or a URL when told, retention in days', async () => {
    const defaults = loadNodeConfig({ file: false, env: {} });
    assert.equal(defaults.provenance, 'sqlite');
    assert.equal(defaults.provenanceRetentionDays, 90);
    const path = await file('provenance.yaml', 'provenance:\n  store: "off"\n  retentionDays: 7\n');
    const fromFile = loadNodeConfig({ file: path, env: {}, cwd: dir });
    assert.equal(fromFile.provenance, 'off');
    assert.equal(fromFile.provenanceRetentionDays, 7);
    const env = { AGENTFLEET_PROVENANCE: 'postgres://u:p@db/x' };
    assert.equal(loadNodeConfig({ file: false, env }).provenance, 'postgres://u:p@db/x');
    const bad = message(() =>
      loadNodeConfig({ file: false, env: { AGENTFLEET_PROVENANCE: 'mysql://u:secret@db' } }),
    );
    assert.match(bad, /provenance/);
    assert.doesNotMatch(bad, /secret/, 'a URL may hold a password');
    assert.match(
      message(() => loadNodeConfig({ file: false, env: { AGENTFLEET_PROVENANCE_RETENTION_DAYS: '0' } })),
      /provenanceRetentionDays/,
    );
  });

  it('redacts secrets in errors', async () => {
    const path = await file(
      'secret.yaml',
      'redis:\n  url: http://user:hunter2@redis\ntenants:\n  adminKey: short\n',
    );
    const text = message(() => loadNodeConfig({ file: path, env: {}, cwd: dir }));
    assert.match(text, /redisUrl: .*secret\.yaml line 2=<redacted>/);
    assert.match(text, /adminKey: .*secret\.yaml line 4=<redacted>/);
    assert.doesNotMatch(text, /hunter2|short/);
    const env = message(() => loadNodeConfig({ file: false, env: { AGENTFLEET_BUS: 'ftp://secret@x' } }));
    assert.match(env, /bus: .*AGENTFLEET_BUS=<redacted>/);
    assert.doesNotMatch(env, /secret@/);
  });
});
