// Which loopback servers are up. Integration tests skip (with a one-line reason) when one is
// missing, except under CI=true, where a missing server fails the run.
import { Socket } from 'node:net';

export const NATS_URL = process.env.NATS_URL ?? '127.0.0.1:4222';
export const MQTT_URL = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883';

function reachable(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => done(true));
  });
}

/**
 * Resolves to `undefined` when the server answers, or to a skip reason when it does not.
 * Under CI=true a missing server throws instead, so the run fails.
 */
export async function serverSkipReason(
  name: string,
  port: number,
  host = '127.0.0.1',
): Promise<string | undefined> {
  if (await reachable(host, port)) return undefined;
  const reason = `${name} is not running on ${host}:${port} (see env/machines/node-svc.md to start it)`;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
  return reason;
}

export const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
