// The OpenAI-compatible endpoint over a durable agent whose run suspends for an approval,
// driven by the official `openai` client.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { call, type DurableServer, runReaches, startDurableServer } from '../../test/durable-server.ts';

interface RunNote {
  runId: string;
  status: string;
  approvals?: Array<{ id: string; tool: string; arguments: unknown; reason?: string; kind: string }>;
}

let server: DurableServer;
let client: OpenAI;

before(async () => {
  server = await startDurableServer();
  client = new OpenAI({
    baseURL: `${server.base}/v1`,
    apiKey: server.alpha.slice('Bearer '.length),
    maxRetries: 0,
  });
});
after(() => server.close());

describe('chat completions of a durable run that needs approval', () => {
  it('end with finish_reason stop, a message saying what to do, and agentfleet.runId', async () => {
    const completion = await client.chat.completions.create({
      model: 'desk',
      messages: [{ role: 'user', content: 'refund 250' }],
    });
    const choice = completion.choices[0];
    assert.equal(choice?.finish_reason, 'stop');
    const note = (completion as unknown as { agentfleet: RunNote }).agentfleet;
    assert.equal(note.status, 'awaiting-approval');
    const approval = note.approvals?.[0];
    assert.equal(approval?.tool, 'refund');
    assert.deepEqual(approval?.arguments, { amount: 250 });
    assert.equal(
      choice?.message.content,
      `Waiting for approval of refund (approval ${approval?.id}); approve with POST /v1/approvals/${approval?.id}`,
    );
    // The client acts on it: the approval resumes the run to its answer.
    const decided = await call(server.base, 'POST', `/v1/approvals/${approval?.id}`, server.alpha, {
      approve: true,
    });
    assert.equal(decided.status, 200);
    const run = await runReaches(server, note.runId, 'completed');
    assert.match(run.result, /"refunded":250/);
  });

  it('streams the same, the run and its approvals in the last chunk', async () => {
    const stream = await client.chat.completions.create({
      model: 'desk',
      messages: [{ role: 'user', content: 'refund 400' }],
      stream: true,
    });
    let text = '';
    const chunks: Array<OpenAI.ChatCompletionChunk & { agentfleet?: RunNote }> = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
      text += chunk.choices[0]?.delta.content ?? '';
    }
    const last = chunks.at(-1);
    assert.equal(last?.choices[0]?.finish_reason, 'stop');
    assert.equal(last?.agentfleet?.status, 'awaiting-approval');
    const id = last?.agentfleet?.approvals?.[0]?.id;
    assert.match(
      text,
      new RegExp(
        `^Waiting for approval of refund \\(approval ${id}\\); approve with POST /v1/approvals/${id}$`,
      ),
    );
    assert.equal(
      (await call(server.base, 'GET', `/v1/runs/${last?.agentfleet?.runId}`, server.alpha)).body.status,
      'awaiting-approval',
    );
  });

  it('a run that answers at once carries its runId too, and a plain agent none', async () => {
    const completion = await client.chat.completions.create({
      model: 'desk',
      messages: [{ role: 'user', content: 'hello' }],
    });
    assert.equal(completion.choices[0]?.message.content, 'echo: hello');
    assert.equal((completion as unknown as { agentfleet: RunNote }).agentfleet.status, 'completed');
    const plain = await client.chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: 'hello' }],
    });
    assert.equal(plain.choices[0]?.message.content, 'echo: hello');
    assert.equal((plain as unknown as { agentfleet?: RunNote }).agentfleet, undefined);
  });

  it('an agent whose runs are in a store of its own still gets its answer and what it waits for', async () => {
    const completion = await client.chat.completions.create({
      model: 'loner',
      messages: [{ role: 'user', content: 'refund 300' }],
    });
    const note = (completion as unknown as { agentfleet: RunNote }).agentfleet;
    assert.equal(note.status, 'awaiting-approval');
    assert.equal(note.approvals?.[0]?.tool, 'refund');
    assert.match(
      completion.choices[0]?.message.content ?? '',
      /^Waiting for approval of refund \(approval apr_/,
    );
  });
});
