// A definition without a config schema used to keep any config as sent (about 1 MB pinned per
// agent over HTTP). Such a config must now be JSON of at most `maxConfigBytes` (64 KiB).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { throwsWithCode } from '../../test/helpers.ts';
import { createRuntime, defineAgent } from './index.ts';

const loose = defineAgent({ name: 'loose', decide: (x: unknown) => x });
const big = (bytes: number) => ({ blob: 'x'.repeat(bytes - '{"blob":""}'.length) });

describe('config of definitions without a schema', () => {
  it('accepts up to 64 KiB of JSON and refuses more with INVALID_INPUT', async () => {
    const runtime = createRuntime();
    assert.equal(runtime.maxConfigBytes, 65_536);
    assert.equal(JSON.stringify(big(65_536)).length, 65_536);
    const kept = runtime.create(loose, { config: big(65_536) }).config as { blob: string };
    assert.equal(kept.blob.length, 65_536 - 11, 'kept as given');
    assert.throws(
      () => runtime.create(loose, { config: big(65_537) }),
      (error: { code?: string; message?: string }) =>
        error.code === 'INVALID_INPUT' &&
        /65537 bytes of JSON, over the 65536-byte limit/.test(error.message ?? ''),
    );
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    throwsWithCode(() => runtime.create(loose, { config: cycle }), 'INVALID_INPUT');
    assert.equal(runtime.create(loose).config, undefined);
    await runtime.close();
  });

  it('takes another limit; a config schema decides by itself', async () => {
    const runtime = createRuntime({ maxConfigBytes: 200_000 });
    assert.equal(runtime.create(loose, { config: big(150_000) }).agentId.startsWith('loose'), true);
    throwsWithCode(() => runtime.create(loose, { config: big(200_001) }), 'INVALID_INPUT');
    const strict = defineAgent({
      name: 'strict',
      config: z.object({ blob: z.string() }),
      decide: (x: unknown) => x,
    });
    assert.equal(runtime.create(strict, { config: big(300_000) }).config.blob.length, 300_000 - 11);
    throwsWithCode(() => createRuntime({ maxConfigBytes: -1 }), 'INVALID_OPTIONS');
    await runtime.close();
  });
});
