import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { AGENT_SPEC_SCHEMA_PATH, agentSpecJsonSchema } from './index.ts';
import { compileJsonSchema } from './json-schema-check.ts';

const ROOT = new URL('../../', import.meta.url);

describe('the published agent spec JSON Schema', () => {
  it('matches the zod schema (run `npm run schema:agent-spec` after changing it)', async () => {
    const committed = JSON.parse(await readFile(new URL(AGENT_SPEC_SCHEMA_PATH, ROOT), 'utf8'));
    assert.deepEqual(committed, agentSpecJsonSchema());
  });

  it('accepts every example spec and refuses a bad one, as editors would', async () => {
    const validate = compileJsonSchema(agentSpecJsonSchema());
    const dir = new URL('agents/', ROOT);
    for (const file of (await readdir(dir)).filter((f) => f.endsWith('.yaml'))) {
      const spec = parse(await readFile(new URL(file, dir), 'utf8'));
      assert.equal(validate(spec), true, `${file}: ${JSON.stringify(validate.errors)}`);
    }
    assert.equal(validate({ name: 'a', cognition: { type: 'llm', model: 'no-slash' } }), false);
    assert.equal(validate({ name: 'a', cognition: { type: 'knowledge' }, unknown: 1 }), false);
  });
});
