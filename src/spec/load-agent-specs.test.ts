import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatAgentsFolderReport, loadAgentSpecs, SpecInvalidError, validateAgentsFolder } from './index.ts';

const EXAMPLES = new URL('../../agents/', import.meta.url).pathname;

describe('loadAgentSpecs', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'specs-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function folder(name: string, files: Record<string, string>): Promise<string> {
    const path = join(dir, name);
    await rm(path, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(path, { recursive: true }));
    for (const [file, text] of Object.entries(files)) await writeFile(join(path, file), text);
    return path;
  }

  it('loads the example fleet', async () => {
    const loaded = await loadAgentSpecs(EXAMPLES);
    assert.deepEqual(loaded.map((l) => l.spec.name).sort(), ['act', 'assistant', 'handbook', 'triage']);
    const assistant = loaded.find((l) => l.spec.name === 'assistant');
    assert.match(assistant?.system ?? '', /search_knowledge/);
    assert.equal(loaded.find((l) => l.spec.name === 'handbook')?.documents.length, 3);
  });

  it('loads YAML, YML and JSON and ignores other files', async () => {
    const path = await folder('mixed', {
      'a.yaml': 'name: a\ncognition: { type: knowledge }\n',
      'b.yml': 'name: b\ncognition: { type: knowledge }\n',
      'c.json': '{"name": "c", "cognition": {"type": "knowledge"}}',
      'notes.md': 'not a spec',
    });
    assert.deepEqual(
      (await loadAgentSpecs(path)).map((l) => l.spec.name),
      ['a', 'b', 'c'],
    );
  });

  it('is all or nothing: one bad file, nothing loaded, every problem of every file reported', async () => {
    const path = await folder('bad', {
      'good.yaml': 'name: good\ncognition: { type: knowledge }\n',
      'one.yaml': 'name: one\ncognition: { type: llm, model: nope }\n',
      'two.json': '{"name": "two", "cognition": {"type": "knowledge"}, "extra": 1}',
    });
    await assert.rejects(loadAgentSpecs(path), (error: unknown) => {
      assert.ok(error instanceof SpecInvalidError);
      assert.deepEqual(
        error.problems.map((p) => `${p.source.slice(path.length + 1)} ${p.path}`),
        ['one.yaml cognition.model', 'two.json extra'],
      );
      return true;
    });
  });

  it('refuses duplicate names', async () => {
    const path = await folder('dup', {
      'a.yaml': 'name: same\ncognition: { type: knowledge }\n',
      'b.yaml': 'name: same\ncognition: { type: knowledge }\n',
    });
    await assert.rejects(loadAgentSpecs(path), (error: SpecInvalidError) => {
      assert.equal(error.problems.length, 1);
      assert.match(error.problems[0]?.message ?? '', /duplicate name "same".*a\.yaml/);
      return true;
    });
  });

  it('refuses a missing system file and missing documents', async () => {
    const path = await folder('files', {
      'a.yaml':
        'name: a\ncognition: { type: llm, model: openai/m, systemFile: nowhere.md }\nknowledge: { documents: [gone.md] }\n',
    });
    await assert.rejects(loadAgentSpecs(path), (error: SpecInvalidError) => {
      assert.deepEqual(
        error.problems.map((p) => p.path),
        ['cognition.systemFile', 'knowledge.documents.0'],
      );
      return true;
    });
  });

  it('honours an aborted signal', async () => {
    await assert.rejects(loadAgentSpecs(EXAMPLES, { signal: AbortSignal.abort() }), { code: 'ABORTED' });
  });

  it('validateAgentsFolder reports instead of throwing', async () => {
    const ok = await validateAgentsFolder(EXAMPLES);
    assert.equal(ok.ok, true);
    assert.match(formatAgentsFolderReport(ok), /4 agent spec\(s\) valid/);
    const path = await folder('report', { 'x.yaml': 'name: x\ncognition:\n  type: rules\n  rules: 3\n' });
    const bad = await validateAgentsFolder(path);
    assert.equal(bad.ok, false);
    assert.match(formatAgentsFolderReport(bad), /x\.yaml:4:\d+ cognition\.rules:/);
    const missing = await validateAgentsFolder(join(dir, 'absent'));
    assert.equal(missing.ok, false);
  });
});
