import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import mqtt, { type MqttClient } from 'mqtt';

export type { MqttClient } from 'mqtt';

export interface ConnectMqttOptions {
  /** First part of the client id; a host, pid and random suffix make it unique per instance. */
  clientIdPrefix?: string;
  /** Pause between reconnect attempts (default 1 s). */
  reconnectPeriodMs?: number;
  connectTimeoutMs?: number;
}

/**
 * A client id no other process uses: two clients with one id make the broker disconnect the
 * older one, so every rema instance and every simulated gateway gets its own.
 */
export function uniqueClientId(prefix = 'rema'): string {
  const host = hostname().replace(/[^A-Za-z0-9-]/g, '').slice(0, 24) || 'host';
  return `${prefix}-${host}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/**
 * Connects to an MQTT 3.1.1 broker and keeps reconnecting after a loss. The client is
 * returned at once; `connected` tells whether it is up now (see {@link waitForConnection}).
 *
 * @example
 *   const client = connectMqtt('mqtt://127.0.0.1:1883', { clientIdPrefix: 'rema' });
 *   await waitForConnection(client, 3000);
 */
export function connectMqtt(url: string, opts: ConnectMqttOptions = {}): MqttClient {
  const client = mqtt.connect(url, {
    clientId: uniqueClientId(opts.clientIdPrefix),
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: opts.reconnectPeriodMs ?? 1000,
    connectTimeout: opts.connectTimeoutMs ?? 5000,
    resubscribe: true,
    // mqtt-packet would otherwise keep a 2-byte Buffer for each of the 65,536 message ids, ~6 MB
    // of heap for the life of the process; making one per packet costs nothing measurable.
    writeCache: false,
  });
  // Without a listener an 'error' event (refused connection, broker gone) would kill the process;
  // the client reconnects by itself, so the error is only worth noting.
  client.on('error', () => {});
  return client;
}

/** Resolves true once `client` is connected, false after `timeoutMs` without a connection. */
export function waitForConnection(client: MqttClient, timeoutMs: number): Promise<boolean> {
  if (client.connected) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      client.removeListener('connect', onConnect);
      resolve(ok);
    };
    const onConnect = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    client.on('connect', onConnect);
  });
}

/**
 * Publishes `payload` as JSON with QoS 1 and resolves on the broker's PUBACK; rejects after
 * `timeoutMs` (a publish made while the broker is away would otherwise wait for its return).
 */
export async function publishJson(
  client: MqttClient,
  topic: string,
  payload: unknown,
  opts: { retain?: boolean; timeoutMs?: number } = {},
): Promise<void> {
  const body = payload === null ? '' : JSON.stringify(payload);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no PUBACK for ${topic} within ${opts.timeoutMs ?? 5000} ms`)), opts.timeoutMs ?? 5000);
  });
  try {
    await Promise.race([client.publishAsync(topic, body, { qos: 1, retain: opts.retain ?? false }), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Closes the client, dropping whatever it still had queued (bounded: never hangs on a dead broker). */
export async function closeMqtt(client: MqttClient): Promise<void> {
  await Promise.race([client.endAsync(true), new Promise<void>((resolve) => setTimeout(resolve, 2000))]);
}
