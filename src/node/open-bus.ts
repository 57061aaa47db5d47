import { type Bus, createBus } from '../bus/index.ts';
import { ConfigInvalidError, type ServerConfig } from '../config/index.ts';

/**
 * Opens the bus a config names: in memory, over NATS or over MQTT (each transport's client
 * is loaded only then). MQTT takes `busUser`/`busPassword`; the NATS transport takes no
 * credentials yet (user/password, token, nkey and TLS are the next step of its options), so
 * setting them with a NATS URL is refused rather than ignored.
 * @throws ConfigInvalidError, or the transport's `TRANSPORT_FAILED` when it cannot connect.
 */
export async function openBus(config: ServerConfig, signal?: AbortSignal): Promise<Bus> {
  const url = config.bus;
  if (url === 'memory') return createBus();
  if (/^(nats|tls)s?:\/\//.test(url)) {
    if (config.busUser !== undefined || config.busPassword !== undefined) {
      throw new ConfigInvalidError([
        'busUser: the NATS transport takes no credentials yet; put them in the URL or leave them unset',
      ]);
    }
    const { natsTransport } = await import('../bus/transports/nats.ts');
    const transport = await natsTransport({ servers: url.split(','), name: 'agentfleet', signal });
    return createBus({ transport });
  }
  const { mqttTransport } = await import('../bus/transports/mqtt.ts');
  const transport = await mqttTransport({
    url,
    ...(config.busUser === undefined ? {} : { username: config.busUser }),
    ...(config.busPassword === undefined ? {} : { password: config.busPassword }),
    signal,
  });
  return createBus({ transport });
}
