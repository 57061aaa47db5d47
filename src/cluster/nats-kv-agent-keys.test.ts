import assert from 'node:assert/strict';
import { it } from 'node:test';
import { agentKey, agentKeyToken, fromAgentKeyToken, tenantFilter } from './nats-kv-agent-keys.ts';

it('keeps plain ids readable and encodes every other value as one safe token', () => {
  assert.equal(agentKey('acme', 'bot-1'), 'a.acme.bot-1');
  assert.equal(agentKey(undefined, 'bot_1'), 'a._.bot_1');
  assert.equal(tenantFilter(undefined), 'a._.*');
  assert.notEqual(agentKeyToken('_'), '_', 'a tenant named "_" is not the system scope');
  for (const value of ['_', 'a.b', 'with space', '=x', '*', '>', 'ü日本🤖', 'x'.repeat(65), 'colon:x']) {
    const token = agentKeyToken(value);
    assert.match(token, /^=[A-Za-z0-9_-]*$/, value);
    assert.equal(fromAgentKeyToken(token), value);
  }
  assert.equal(fromAgentKeyToken(agentKeyToken('x'.repeat(64))), 'x'.repeat(64));
});
