import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { rejectsWithCode } from '../../test/helpers.ts';
import { startHttpMcpServer } from '../../test/mcp/server.ts';
import { type McpServer, mcpTools, ToolRunner } from './index.ts';

const stdio: McpServer = {
  command: process.execPath,
  args: [fileURLToPath(new URL('../../test/mcp/server.ts', import.meta.url))],
};

async function exercise(server: McpServer): Promise<void> {
  const source = await mcpTools(server, { prefix: 'test' });
  try {
    assert.deepEqual(
      source.tools.map((t) => t.name),
      ['test_add', 'test_fail', 'test_slow'],
    );
    const add = source.tools[0];
    assert.equal(add?.spec.description, 'Adds two numbers');
    assert.deepEqual(add?.spec.parameters.required, ['a', 'b']);
    const runner = new ToolRunner(source.tools, { timeoutMs: 200 });
    const outcomes = await runner.run([
      { id: '1', name: 'test_add', arguments: '{"a":2,"b":3}' },
      { id: '2', name: 'test_add', arguments: '{"a":"two"}' },
      { id: '3', name: 'test_fail', arguments: '{}' },
      { id: '4', name: 'test_slow', arguments: '{"ms":2000}' },
    ]);
    assert.deepEqual(
      outcomes.map((o) => [o.error?.code, o.message.isError]),
      [
        [undefined, undefined],
        ['TOOL_ARGUMENTS_INVALID', true],
        ['TOOL_FAILED', true],
        ['TOOL_TIMEOUT', true],
      ],
    );
    assert.equal(outcomes[0]?.message.content, '5');
    // what the model reads back: the code, and why, naming the bad field
    const error = (i: number) => JSON.parse(outcomes[i]?.message.content ?? '{}').error;
    assert.equal(error(1).code, 'TOOL_ARGUMENTS_INVALID');
    assert.match(error(1).message, /\ba\b.*number|\bb\b/);
    assert.equal(error(2).code, 'TOOL_FAILED');
    assert.match(error(2).message, /the disk is full/);
    assert.equal(error(3).code, 'TOOL_TIMEOUT');
    assert.match(error(3).message, /200 ms/);
  } finally {
    await source.close();
  }
}

describe('MCP tool sources', () => {
  it('over stdio: tools listed, arguments validated, errors and timeouts become tool messages', async () => {
    await exercise(stdio);
  });

  it('over streamable HTTP, the same', async () => {
    const http = await startHttpMcpServer();
    try {
      await exercise({ url: http.url });
    } finally {
      await http.close();
    }
  });

  it('a server that cannot be reached is MCP_FAILED', async () => {
    await rejectsWithCode(
      mcpTools({ command: process.execPath, args: ['-e', 'process.exit(3)'] }),
      'MCP_FAILED',
    );
    await rejectsWithCode(mcpTools({ url: 'http://127.0.0.1:1/mcp' }), 'MCP_FAILED');
  });
});
