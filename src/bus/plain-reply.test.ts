// Replies to plain clients (JSON without a frame) are plain JSON with native headers; replies
// to Agentfleet frames stay frames. A recording wire transport stands in for NATS/MQTT.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AgentfleetError } from '../errors/index.ts';
import { createBus } from './bus.ts';
import type { OutgoingMessage, Transport, TransportSink } from './transport.ts';

function recordingTransport(): Transport & { sent: OutgoingMessage[]; sink(): TransportSink } {
  const sent: OutgoingMessage[] = [];
  let sink: TransportSink | undefined;
  return {
    name: 'recording',
    features: { wire: true, durable: false, blockPublisher: false, knowsResponders: false },
    sent,
    sink: () => sink as TransportSink,
    publish: (message) => void sent.push(message),
    subscribe: async (_pattern, _options, s) => {
      sink = s;
      return { close: async () => {} };
    },
    flush: async () => {},
    close: async () => {},
  };
}

const text = (data: Uint8Array | undefined) => new TextDecoder().decode(data);
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('replies to plain clients', () => {
  it('a plain request is answered in plain JSON, correlation data passed to the transport', async () => {
    const transport = recordingTransport();
    const bus = createBus({ transport });
    await bus.subscribe('svc.echo', (m) => ({ output: m.payload }));
    const correlationData = new Uint8Array([1, 2, 3]);
    transport
      .sink()
      .receive('svc.echo', Buffer.from('{"a":1}'), undefined, { replyTo: 'r.1', correlationData });
    await settle();
    const reply = transport.sent.at(-1);
    assert.equal(reply?.envelope.topic, 'r.1');
    assert.equal(text(reply?.data), '{"output":{"a":1}}');
    assert.deepEqual(reply?.native, { headers: {}, correlationData });
    await bus.close();
  });

  it('an error is { error: { code, message, details } } with the code in the native header', async () => {
    const transport = recordingTransport();
    const bus = createBus({ transport });
    await bus.subscribe('svc.fail', () => {
      throw new AgentfleetError('INVALID_INPUT', 'bad', { details: { field: 'x' } });
    });
    transport.sink().receive('svc.fail', Buffer.from('{}'), undefined, { replyTo: 'r.2' });
    await settle();
    const reply = transport.sent.at(-1);
    assert.deepEqual(JSON.parse(text(reply?.data)), {
      error: { code: 'INVALID_INPUT', message: 'bad', details: { field: 'x' } },
    });
    assert.deepEqual(reply?.native?.headers, { 'agentfleet-error': 'INVALID_INPUT' });
    await bus.close();
  });

  it('a framed request gets a framed reply, without native facts', async () => {
    const transport = recordingTransport();
    const bus = createBus({ transport });
    await bus.subscribe('svc.echo', (m) => ({ output: m.payload }));
    const frame = 'AF1 json id1 1700000000000 acme  r.3 \n{"a":2}';
    // Native facts of a frame are ignored: the frame carries its own.
    transport.sink().receive('svc.echo', Buffer.from(frame), undefined, { replyTo: 'r.other' });
    await settle();
    const reply = transport.sent.at(-1);
    assert.equal(reply?.envelope.topic, 'r.3');
    assert.equal(reply?.native, undefined);
    assert.match(text(reply?.data), /^AF1 json \S+ \d+ acme {3}\n\{"output":\{"a":2\}\}$/);
    await bus.close();
  });
});
