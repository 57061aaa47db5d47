import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';

const fixture = fileURLToPath(new URL('../../test/fixtures/ten-thousand-agents.ts', import.meta.url));

it('a process that creates and closes 10,000 agents exits on its own', async () => {
  const child = spawn(process.execPath, [fixture], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('exit', (c, s) => resolve([c, s])),
  );
  clearTimeout(killer);
  assert.equal(signal, null, 'the child had to be killed: something kept the event loop alive');
  assert.equal(code, 0);
  const report = JSON.parse(out.trim());
  // The 10 stuck agents are forced at their deadline; every other message either finished
  // or was refused with AGENT_STOPPED because it was still waiting for a pool slot.
  assert.deepEqual(report, {
    stopped: 10_000,
    forced: 10,
    stoppedAgents: 10_000,
    settled: 10_000,
    codes: ['AGENT_STOPPED'],
  });
});
