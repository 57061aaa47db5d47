import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_STATE_SYNC_CONFIG, parseStateSyncConfig } from './state-schema.ts';
import { TagContexts } from './tag-context.ts';
import { TtlPolicy } from './ttl-policy.ts';

const seed = new TtlPolicy(DEFAULT_STATE_SYNC_CONFIG.ttl);
const ttl = (policy: TtlPolicy, ...tags: string[]) => policy.ttlFor(new Set(tags));

describe('TtlPolicy', () => {
  it("applies the seed's table", () => {
    assert.deepEqual(ttl(seed, 'user_active'), { ttlMs: 30_000, rule: 'user_active' });
    assert.deepEqual(ttl(seed, 'idle_background'), { ttlMs: 300_000, rule: 'idle_background' });
    assert.deepEqual(ttl(seed, 'emergency'), { ttlMs: 5_000, rule: 'emergency' });
    assert.deepEqual(ttl(seed), { ttlMs: 60_000, rule: 'default' });
    assert.deepEqual(ttl(seed, 'navigation'), { ttlMs: 60_000, rule: 'default' });
  });

  it('lets the first matching rule win: emergency beats user_active and idle_background', () => {
    assert.equal(ttl(seed, 'user_active', 'emergency').rule, 'emergency');
    assert.equal(ttl(seed, 'idle_background', 'user_active').rule, 'user_active');
    assert.equal(ttl(seed, 'idle_background', 'navigation', 'emergency', 'user_active').ttlMs, 5_000);
  });

  it('follows the configured order, and anyTag / allTags', () => {
    const policy = new TtlPolicy(
      parseStateSyncConfig({
        ttl: {
          rules: [
            { name: 'docked_idle', when: { allTags: ['docked', 'idle_background'] }, ttlMs: 3_600_000 },
            { when: { anyTag: ['user_active', 'navigation'], allTags: ['low_battery'] }, ttlMs: 10_000 },
            { name: 'idle', when: { anyTag: ['idle_background'] }, ttlMs: 300_000 },
          ],
          defaultTtlMs: 1_000,
        },
      }).ttl,
    );
    assert.deepEqual(ttl(policy, 'idle_background', 'docked'), { ttlMs: 3_600_000, rule: 'docked_idle' });
    assert.deepEqual(ttl(policy, 'idle_background'), { ttlMs: 300_000, rule: 'idle' });
    assert.deepEqual(ttl(policy, 'low_battery', 'navigation'), { ttlMs: 10_000, rule: 'rule-1' });
    assert.deepEqual(ttl(policy, 'low_battery'), { ttlMs: 1_000, rule: 'default' });
    assert.deepEqual(ttl(policy, 'navigation'), { ttlMs: 1_000, rule: 'default' });
  });

  it('returns the same decision object every time (no allocation)', () => {
    assert.equal(ttl(seed, 'emergency'), ttl(seed, 'emergency', 'user_active'));
  });
});

describe('TagContexts', () => {
  it('unions the relevant fields of the tags and interns the context per tag set', () => {
    const contexts = new TagContexts(parseStateSyncConfig({ alwaysRelevant: ['mode'] }));
    const both = contexts.get(['low_battery', 'navigation']);
    assert.deepEqual(
      [...both.relevant].sort(),
      ['battery_level', 'charging_status', 'heading', 'mode', 'position', 'speed'].sort(),
    );
    assert.equal(contexts.get(['low_battery', 'navigation']), both);
    assert.deepEqual([...contexts.empty.relevant], ['mode']);
    assert.equal(contexts.get(['emergency', 'navigation']).ttlRule, 'emergency');
  });
});
