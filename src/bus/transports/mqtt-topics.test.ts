import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromMqttTopic, toMqttFilter, toMqttTopic } from './mqtt-topics.ts';

describe('MQTT topic mapping', () => {
  it('maps topics between . and / both ways', () => {
    assert.equal(toMqttTopic('site.floor-1.sensor_7'), 'site/floor-1/sensor_7');
    assert.equal(fromMqttTopic('site/floor-1/sensor_7'), 'site.floor-1.sensor_7');
    assert.equal(toMqttTopic('one'), 'one');
  });

  it('maps * to + and > to #, leaving tokens that merely contain them alone', () => {
    assert.equal(toMqttFilter('a.*.c'), 'a/+/c');
    assert.equal(toMqttFilter('a.>'), 'a/#');
    assert.equal(toMqttFilter('*.*'), '+/+');
    assert.equal(toMqttFilter('>'), '#');
    assert.equal(toMqttFilter('a.b'), 'a/b');
  });
});
