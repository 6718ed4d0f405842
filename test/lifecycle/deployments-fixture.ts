/**
 * What the deployment tests share: rema on a fresh database wired to the real Mosquitto,
 * simulated gateways, waiting for a deployment to end, restarting the broker.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { InjectOptions } from 'fastify';
import type { DeploymentView, TargetView } from '../../src/lifecycle/deployments/deployment-store.ts';
import { closeMqtt, connectMqtt, publishJson, waitForConnection } from '../../src/mqtt/client.ts';
import { TOPIC_ROOT } from '../../src/mqtt/topics.ts';
import { buildServer, type Server } from '../../src/server.ts';
import { startSimulator, type SimulatorHandle, type SimulatorOptions } from '../../src/simulator/simulator.ts';
import type { Api, ApiResponse, Method } from '../api/helpers.ts';

export const MQTT_URL = process.env.TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';
export const TOKEN = 'test-operator-token';

export type Deployment = DeploymentView & { results: TargetView[] };

/** An API over `app.inject`, shaped like the one of test/api/helpers.ts so its fixtures work. */
export function injectApi(server: Server): Api {
  return async <T>(method: Method, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> => {
    const opts: InjectOptions = { method, url, headers: { authorization: `Bearer ${TOKEN}`, ...headers } };
    if (body !== undefined) opts.payload = body as InjectOptions['payload'];
    const res = await server.app.inject(opts);
    const json = /json/.test(String(res.headers['content-type'] ?? '')) && res.body.length > 0;
    return { status: res.statusCode, headers: res.headers, body: (json ? JSON.parse(res.body) : undefined) as T, text: res.body };
  };
}

/** rema on `databaseUrl` with the real broker and a fast runner (`migrate: false` for a second instance on a migrated database). */
export async function startRema(databaseUrl: string, opts: { mqtt?: boolean; migrate?: boolean } = {}): Promise<{ server: Server; api: Api }> {
  const server = await buildServer({ databaseUrl, token: TOKEN, mqttUrl: opts.mqtt === false ? undefined : MQTT_URL, runnerIntervalMs: 50, migrate: opts.migrate });
  await server.app.ready();
  return { server, api: injectApi(server) };
}

/** Simulated gateways of `siteCode` that read the site over `api`. */
export function simulate(api: Api, siteCode: string, opts: Partial<SimulatorOptions> = {}): Promise<SimulatorHandle> {
  const get = async (path: string) => {
    const res = await api('GET', path);
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.text}`);
    return res.body;
  };
  return startSimulator({ siteCode, api: get, mqttUrl: MQTT_URL, latencyMs: 20, ...opts });
}

/** Polls `probe` until it returns a value other than undefined; fails after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

export async function getDeployment(api: Api, id: string): Promise<Deployment> {
  const res = await api<Deployment>('GET', `/v1/deployments/${id}`);
  if (res.status !== 200) throw new Error(`GET deployment ${id}: ${res.status} ${res.text}`);
  return res.body;
}

/** The deployment once it has ended (any status but running). */
export function settled(api: Api, id: string, timeoutMs = 15_000): Promise<Deployment> {
  return waitFor(`deployment ${id} to end`, async () => {
    const d = await getDeployment(api, id);
    return d.status === 'running' ? undefined : d;
  }, timeoutMs);
}

export async function deploy(api: Api, body: Record<string, unknown>): Promise<DeploymentView> {
  const res = await api<DeploymentView>('POST', '/v1/deployments', body);
  if (res.status !== 201) throw new Error(`POST /v1/deployments: ${res.status} ${res.text}`);
  return res.body;
}

/** True once something accepts TCP connections on the broker's port and an MQTT client connects. */
async function brokerUp(): Promise<boolean> {
  const url = new URL(MQTT_URL);
  const open = await new Promise<boolean>((resolve) => {
    const s = net.connect({ host: url.hostname, port: Number(url.port || 1883) });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (!open) return false;
  const client = connectMqtt(MQTT_URL, { clientIdPrefix: 'rema-test-probe' });
  const ok = await waitForConnection(client, 2000);
  await closeMqtt(client);
  return ok;
}

const run = promisify(execFile);

/**
 * Restarts the machine's Mosquitto (persistence on, so retained messages survive): stops the
 * process named in its pid file, starts it again as a daemon, waits until it takes clients.
 */
export async function restartMosquitto(): Promise<{ downMs: number }> {
  const started = Date.now();
  const pid = Number(readFileSync('/run/mosquitto/mosquitto.pid', 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 1) throw new Error('no Mosquitto pid file');
  process.kill(pid, 'SIGTERM');
  await waitFor('Mosquitto to stop', async () => {
    try {
      process.kill(pid, 0);
      return undefined;
    } catch {
      return true;
    }
  }, 10_000);
  await run('mosquitto', ['-d', '-c', '/etc/mosquitto/mosquitto.conf']);
  await waitFor('Mosquitto to take clients again', async () => ((await brokerUp()) ? true : undefined), 10_000);
  return { downMs: Date.now() - started };
}

/** The retained messages under `filter` (e.g. a site's `config` topics) as a new subscriber gets them: topic → payload. */
export async function retainedMessages(filter: string): Promise<Map<string, Buffer>> {
  const client = connectMqtt(MQTT_URL, { clientIdPrefix: 'rema-test-retained' });
  try {
    if (!(await waitForConnection(client, 3000))) throw new Error(`no MQTT broker at ${MQTT_URL}`);
    const seen = new Map<string, Buffer>();
    client.on('message', (topic, message, packet) => {
      if (packet.retain && message.length > 0) seen.set(topic, message);
    });
    await client.subscribeAsync(filter, { qos: 1 });
    await sleep(250);
    return seen;
  } finally {
    await closeMqtt(client);
  }
}

/** Removes every retained message under a test site's topics, so the broker's store does not grow run after run. */
export async function clearRetained(siteCode: string): Promise<void> {
  const topics = await retainedMessages(`${TOPIC_ROOT}/${siteCode}/#`).catch(() => new Map<string, Buffer>());
  if (topics.size === 0) return;
  const client = connectMqtt(MQTT_URL, { clientIdPrefix: 'rema-test-cleanup' });
  try {
    if (!(await waitForConnection(client, 3000))) return;
    await Promise.all([...topics.keys()].map((t) => publishJson(client, t, null, { retain: true, timeoutMs: 2000 }).catch(() => {})));
  } finally {
    await closeMqtt(client);
  }
}
