import { readFile } from 'node:fs/promises';
import { type Bus, createBus } from '../bus/index.ts';
import { ConfigInvalidError, type ServerConfig } from '../config/index.ts';

/**
 * Opens the bus a config names: in memory, over NATS or over MQTT (each transport's client
 * is loaded only then), with the broker's own authentication: NATS user/password
 * (`busUser`/`busPassword`), token or nkey seed; MQTT username/password; TLS for both
 * (`busTlsCa`, and `busTlsCert`/`busTlsKey` for mutual TLS, read from PEM files).
 * @throws ConfigInvalidError for conflicting or unreadable settings; the transport's `TRANSPORT_FAILED` when it cannot connect.
 */
export async function openBus(config: ServerConfig, signal?: AbortSignal): Promise<Bus> {
  const url = config.bus;
  if (url === 'memory') return createBus();
  const tls = await readTls(config);
  if (/^(nats|tls)s?:\/\//.test(url)) {
    const { natsTransport } = await import('../bus/transports/nats.ts');
    const transport = await natsTransport({
      servers: url.split(','),
      name: 'agentfleet',
      ...natsAuth(config),
      ...(tls === undefined ? {} : { tls }),
      signal,
    });
    return createBus({ transport });
  }
  if (config.busToken !== undefined || config.busNkeySeed !== undefined) {
    throw new ConfigInvalidError(['busToken: an MQTT broker takes busUser/busPassword, not a token or nkey']);
  }
  const { mqttTransport } = await import('../bus/transports/mqtt.ts');
  const transport = await mqttTransport({
    url,
    ...(config.busUser === undefined ? {} : { username: config.busUser }),
    ...(config.busPassword === undefined ? {} : { password: config.busPassword }),
    ...(tls === undefined ? {} : { tls }),
    signal,
  });
  return createBus({ transport });
}

function natsAuth(config: ServerConfig) {
  const kinds = [
    config.busUser !== undefined || config.busPassword !== undefined,
    config.busToken !== undefined,
    config.busNkeySeed !== undefined,
  ].filter(Boolean).length;
  if (kinds > 1)
    throw new ConfigInvalidError(['bus: set one of busUser/busPassword, busToken or busNkeySeed']);
  if (config.busToken !== undefined) return { auth: { token: config.busToken } };
  if (config.busNkeySeed !== undefined) return { auth: { nkeySeed: config.busNkeySeed } };
  if (config.busUser === undefined && config.busPassword === undefined) return {};
  if (config.busUser === undefined || config.busPassword === undefined) {
    throw new ConfigInvalidError(['busUser: NATS user/password needs both busUser and busPassword']);
  }
  return { auth: { user: config.busUser, pass: config.busPassword } };
}

async function readTls(
  config: ServerConfig,
): Promise<{ ca?: string; cert?: string; key?: string } | undefined> {
  const files = { ca: config.busTlsCa, cert: config.busTlsCert, key: config.busTlsKey };
  if (Object.values(files).every((f) => f === undefined)) return undefined;
  const tls: { ca?: string; cert?: string; key?: string } = {};
  for (const [name, path] of Object.entries(files) as Array<[keyof typeof tls, string | undefined]>) {
    if (path === undefined) continue;
    try {
      tls[name] = await readFile(path, 'utf8');
    } catch (error) {
      throw new ConfigInvalidError([
        `busTls${name[0]!.toUpperCase()}${name.slice(1)}: ${(error as Error).message}`,
      ]);
    }
  }
  return tls;
}
