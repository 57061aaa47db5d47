import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMqttOptions } from './mqtt-options.ts';
import { parseNatsOptions } from './nats-options.ts';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

describe('broker authentication options', () => {
  it('NATS takes user/password, token or an nkey seed, and TLS PEMs', () => {
    assert.deepEqual(parseNatsOptions({ auth: { user: 'u', pass: 'p' } }).auth, { user: 'u', pass: 'p' });
    assert.deepEqual(parseNatsOptions({ auth: { token: 't0k' } }).auth, { token: 't0k' });
    const seed = `SU${'A'.repeat(56)}`;
    assert.deepEqual(parseNatsOptions({ auth: { nkeySeed: seed } }).auth, { nkeySeed: seed });
    assert.deepEqual(parseNatsOptions({ tls: { ca: PEM } }).tls, { ca: PEM });
  });

  it('refuses bad credentials without echoing the secret', () => {
    const secret = 'not-a-seed-hunter2';
    assert.throws(
      () => parseNatsOptions({ auth: { nkeySeed: secret } }),
      (error: Error & { code?: string }) =>
        error.code === 'INVALID_OPTIONS' && !error.message.includes(secret),
    );
    assert.throws(() => parseNatsOptions({ auth: { user: 'u', pass: 'p', token: 'x' } as never }), {
      code: 'INVALID_OPTIONS',
    });
    assert.throws(() => parseNatsOptions({ tls: { cert: PEM } }), { code: 'INVALID_OPTIONS' });
    assert.throws(
      () => parseNatsOptions({ tls: { ca: 'hunter2' } }),
      (e: Error) => !e.message.includes('hunter2'),
    );
  });

  it('MQTT takes username/password and TLS PEMs', () => {
    const o = parseMqttOptions({ url: 'mqtts://b:8883', username: 'u', password: 'p', tls: { ca: PEM } });
    assert.equal(o.username, 'u');
    assert.deepEqual(o.tls, { ca: PEM });
    assert.throws(() => parseMqttOptions({ tls: { key: PEM } }), { code: 'INVALID_OPTIONS' });
  });
});
