// The transport contract suite against a real MQTT broker (Mosquitto on 1883).

import { mqttTransport } from '../../src/bus/transports/mqtt.ts';
import { transportContract } from '../../src/testing/index.ts';
import { MQTT_URL, serverSkipReason } from './servers.ts';

const skip = await serverSkipReason('Mosquitto', 1883);

transportContract('mqtt (QoS 1)', { wire: true, skip, connect: () => mqttTransport({ url: MQTT_URL }) });
transportContract('mqtt (QoS 0)', {
  wire: true,
  skip,
  connect: () => mqttTransport({ url: MQTT_URL, qos: 0 }),
});
