import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { throwsWithCode } from '../../test/helpers.ts';
import { jsonSchemaTool, ToolRunner } from './index.ts';

const call = (args: string, id = 'c1') => ({ id, name: 'book', arguments: args });

describe('jsonSchemaTool', () => {
  const inputSchema = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    properties: {
      kind: { enum: ['flight', 'hotel'] },
      email: { type: 'string', format: 'email' },
      nights: { type: 'integer', minimum: 1, default: 1 },
      room: { type: 'string' },
    },
    required: ['kind', 'email'],
    additionalProperties: false,
    // what zod's JSON Schema import cannot take
    if: { properties: { kind: { const: 'hotel' } } },
    // biome-ignore lint/suspicious/noThenProperty: a JSON Schema keyword, not a thenable
    then: { required: ['room'] },
    dependentRequired: { room: ['nights'] },
  };
  const book = jsonSchemaTool({
    name: 'book',
    description: 'Books a trip',
    inputSchema,
    execute: (args) => args,
  });

  it('sends the schema to the model as given, without $schema', () => {
    const { $schema: _, ...rest } = inputSchema;
    assert.deepEqual(book.spec, { name: 'book', description: 'Books a trip', parameters: rest });
  });

  it('validates arguments, fills defaults, and reports every bad field to the model', async () => {
    const runner = new ToolRunner([book]);
    const [ok, bad, conditional] = await runner.run([
      call('{"kind":"flight","email":"a@b.example"}', 'ok'),
      call('{"kind":"car","email":"nope","extra":1}', 'bad'),
      call('{"kind":"hotel","email":"a@b.example"}', 'conditional'),
    ]);
    assert.equal(ok?.error, undefined);
    assert.deepEqual(ok?.value, { kind: 'flight', email: 'a@b.example', nights: 1 });
    assert.equal(bad?.error?.code, 'TOOL_ARGUMENTS_INVALID');
    assert.match(bad?.error?.message ?? '', /kind: must be equal to one of the allowed values/);
    assert.match(bad?.error?.message ?? '', /email: must match format "email"/);
    assert.match(bad?.error?.message ?? '', /extra: is not an allowed property/);
    assert.equal(bad?.message.isError, true);
    assert.equal(conditional?.error?.code, 'TOOL_ARGUMENTS_INVALID');
    assert.match(conditional?.error?.message ?? '', /room: is required/);
  });

  it('rejects bad definitions with INVALID_OPTIONS', () => {
    const execute = () => 1;
    throwsWithCode(
      () => jsonSchemaTool({ name: 'bad name', description: '', inputSchema: { type: 'object' }, execute }),
      'INVALID_OPTIONS',
    );
    throwsWithCode(
      () => jsonSchemaTool({ name: 'n', description: '', inputSchema: { type: 'string' }, execute }),
      'INVALID_OPTIONS',
    );
    throwsWithCode(
      () =>
        jsonSchemaTool({
          name: 'n',
          description: '',
          inputSchema: { type: 'object', properties: { a: { type: 'no-such-type' } } },
          execute,
        }),
      'INVALID_OPTIONS',
    );
  });
});
