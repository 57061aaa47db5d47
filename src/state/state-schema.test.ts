import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { rejectsWithCode, throwsWithCode } from '../../test/helpers.ts';
import {
  DEFAULT_STATE_SYNC_CONFIG,
  loadStateSyncConfig,
  parseStateSyncConfig,
  type StateSyncConfigInput,
} from './state-schema.ts';

function problemsOf(raw: unknown): string[] {
  try {
    parseStateSyncConfig(raw);
  } catch (error) {
    assert.equal((error as { code?: string }).code, 'STATE_CONFIG_INVALID');
    return (error as { details: { problems: string[] } }).details.problems;
  }
  assert.fail('expected STATE_CONFIG_INVALID');
}

describe('state-sync configuration', () => {
  it('defaults to the seed tables', () => {
    const config = parseStateSyncConfig(undefined);
    assert.deepEqual(config, DEFAULT_STATE_SYNC_CONFIG);
    assert.deepEqual(config.relevance, {
      low_battery: ['battery_level', 'charging_status'],
      navigation: ['position', 'heading', 'speed'],
    });
    assert.deepEqual(
      config.ttl.rules.map((r) => [r.name, r.ttlMs]),
      [
        ['emergency', 5_000],
        ['user_active', 30_000],
        ['idle_background', 300_000],
      ],
    );
    assert.equal(config.ttl.defaultTtlMs, 60_000);
    assert.deepEqual(config.limits, { maxKeys: 256, maxBytes: 65_536 });
    assert.deepEqual(config.alwaysRelevant, []);
    assert.ok(Object.isFrozen(config.ttl.rules[0]));
  });

  it('fills the sections a config leaves out', () => {
    const config = parseStateSyncConfig({ limits: { maxKeys: 8 }, ttl: { defaultTtlMs: 1000 } });
    assert.deepEqual(config.limits, { maxKeys: 8, maxBytes: 65_536 });
    assert.equal(config.ttl.rules.length, 3);
    assert.equal(config.ttl.defaultTtlMs, 1000);
  });

  it('names every bad value by its path', () => {
    const problems = problemsOf({
      relevance: { 'Bad-Tag': ['x'], navigation: ['position', ''] },
      alwaysRelevant: 'position',
      ttl: {
        rules: [
          { when: { anyTag: ['emergency'] }, ttlMs: 0 },
          { when: {}, ttlMs: 1000 },
          { when: { allTags: ['user_active'] }, ttlMs: 8 * 24 * 3_600_000 },
          { when: { anyTag: ['UPPER'] }, ttlMs: 1.5 },
        ],
        defaultTtlMs: -1,
      },
      limits: { maxKeys: 0, maxBytes: 'big' },
      extra: true,
    });
    const has = (path: string) =>
      assert.ok(
        problems.some((p) => p.startsWith(`${path}:`)),
        `no problem at ${path} in:\n${problems.join('\n')}`,
      );
    has('relevance.Bad-Tag');
    has('relevance.navigation.1');
    has('alwaysRelevant');
    has('ttl.rules.0.ttlMs');
    has('ttl.rules.1.when');
    has('ttl.rules.2.ttlMs');
    has('ttl.rules.3.when.anyTag.0');
    has('ttl.rules.3.ttlMs');
    has('ttl.defaultTtlMs');
    has('limits.maxKeys');
    has('limits.maxBytes');
    assert.ok(problems.some((p) => p.includes('extra')));
  });

  it('refuses duplicate and reserved rule names, and rules an earlier one shadows', () => {
    const problems = problemsOf({
      ttl: {
        rules: [
          { name: 'a', when: { anyTag: ['emergency', 'alarm'] }, ttlMs: 5000 },
          { name: 'a', when: { allTags: ['user_active'] }, ttlMs: 30_000 },
          { name: 'default', when: { anyTag: ['idle'] }, ttlMs: 1000 },
          // emergency+user_active always matches rule 0 first: never used.
          { name: 'b', when: { allTags: ['emergency', 'user_active'] }, ttlMs: 1 },
          // any of (alarm, emergency): each alone matches rule 0 → shadowed.
          { name: 'c', when: { anyTag: ['alarm', 'emergency'] }, ttlMs: 2 },
          // any of (alarm, other): "other" alone does not match rule 0 → fine.
          { name: 'd', when: { anyTag: ['alarm', 'other'] }, ttlMs: 3 },
        ],
      },
    });
    assert.deepEqual(problems, [
      'ttl.rules.1.name: duplicate name (also ttl.rules.0)',
      'ttl.rules.2.name: "default" is reserved',
      'ttl.rules.3.when: never matches: ttl.rules.0 matches first whenever it would',
      'ttl.rules.4.when: never matches: ttl.rules.0 matches first whenever it would',
    ]);
  });

  it('accepts a config built from the defaults', () => {
    const input: StateSyncConfigInput = {
      relevance: { ...DEFAULT_STATE_SYNC_CONFIG.relevance, user_active: ['screen'] },
      alwaysRelevant: ['mode'],
    };
    assert.deepEqual(parseStateSyncConfig(input).relevance.user_active, ['screen']);
    assert.deepEqual(parseStateSyncConfig(DEFAULT_STATE_SYNC_CONFIG), DEFAULT_STATE_SYNC_CONFIG);
  });

  it('loads a JSON file, and reports unreadable files and bad JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'agentfleet-state-'));
    try {
      const good = join(dir, 'good.json');
      await writeFile(good, JSON.stringify({ ttl: { defaultTtlMs: 1234 } }));
      assert.equal((await loadStateSyncConfig(good)).ttl.defaultTtlMs, 1234);

      const broken = join(dir, 'broken.json');
      await writeFile(broken, '{ "ttl": ');
      const notJson = await rejectsWithCode(loadStateSyncConfig(broken), 'STATE_CONFIG_INVALID');
      assert.match(notJson.message, /broken\.json.*not valid JSON/);

      const invalid = join(dir, 'invalid.json');
      await writeFile(invalid, JSON.stringify({ limits: { maxKeys: -1 } }));
      const bad = await rejectsWithCode(loadStateSyncConfig(invalid), 'STATE_CONFIG_INVALID');
      assert.match(bad.message, /invalid\.json.*limits\.maxKeys/);

      await rejectsWithCode(loadStateSyncConfig(join(dir, 'missing.json')), 'STATE_CONFIG_INVALID');
      await rejectsWithCode(loadStateSyncConfig(good, AbortSignal.abort()), 'ABORTED');
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('throws synchronously from parseStateSyncConfig', () => {
    throwsWithCode(() => parseStateSyncConfig({ limits: { maxBytes: 1 } }), 'STATE_CONFIG_INVALID');
  });
});
