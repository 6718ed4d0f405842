import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startEmbeddedPostgres } from '../db/embedded.ts';
import { startEmbeddedBroker } from '../mqtt/embedded-broker.ts';
import { buildServer, type ServiceName } from '../server.ts';
import { brokerUrlFile } from './broker-url.ts';
import { runningUrlFile } from './database-url.ts';
import { loggerFromEnv } from './log-level.ts';
import { trustProxyFromEnv } from './trust-proxy.ts';

export interface ServeOptions {
  port: number;
  host: string;
  dataDir: string;
  /** Run one service only (`--only`); the others are at REMA_CONFIG_URL, REMA_ADMIN_URL. */
  only?: ServiceName;
}

/**
 * `rema serve`: every service in one process, or with `--only` one of them. Without
 * DATABASE_URL it runs an embedded PostgreSQL with its data under `dataDir` (all services in one
 * process only); without MQTT_URL an embedded MQTT broker (aedes); the API token comes from
 * REMA_TOKEN or is generated once and kept beside the data. On the first start the admin
 * service prints the bootstrap admin's email and (generated) password, once.
 */
export async function serve(opts: ServeOptions): Promise<void> {
  // Settings first: a wrong one stops the start before any embedded server is up.
  const logger = loggerFromEnv(process.env.REMA_LOG);
  const trustProxy = trustProxyFromEnv(process.env.REMA_TRUST_PROXY);
  mkdirSync(opts.dataDir, { recursive: true });
  const runs = (s: ServiceName) => !opts.only || opts.only === s;
  let databaseUrl = process.env.DATABASE_URL;
  let stopDb: (() => Promise<void>) | undefined;
  if (!databaseUrl && opts.only) {
    // Three processes cannot share one embedded cluster's data folder; they share a real server.
    throw new Error(`rema serve --only ${opts.only} needs DATABASE_URL: the services run apart on one shared PostgreSQL`);
  }
  if (!databaseUrl) {
    const started = Date.now();
    const pg = await startEmbeddedPostgres({ dataDir: path.join(opts.dataDir, 'pg') });
    databaseUrl = pg.url;
    stopDb = async () => {
      rmSync(runningUrlFile(opts.dataDir), { force: true });
      await pg.stop();
    };
    writeFileSync(runningUrlFile(opts.dataDir), `${pg.url}\n`, { mode: 0o600 });
    console.log(`embedded PostgreSQL on 127.0.0.1:${pg.port} (data in ${path.join(opts.dataDir, 'pg')}, ${Date.now() - started} ms)`);
  }
  let mqttUrl = process.env.MQTT_URL;
  let stopBroker: (() => Promise<void>) | undefined;
  if (!mqttUrl && runs('lifecycle')) {
    const broker = await startEmbeddedBroker();
    mqttUrl = broker.url;
    writeFileSync(brokerUrlFile(opts.dataDir), `${broker.url}\n`);
    stopBroker = async () => {
      rmSync(brokerUrlFile(opts.dataDir), { force: true });
      await broker.close();
    };
  }
  // The operator token is the admin service's: only where it runs.
  let token = runs('admin') ? (process.env.REMA_TOKEN ?? tokenFile(opts.dataDir)) : undefined;
  const server = await buildServer({
    databaseUrl,
    only: opts.only,
    peers: { config: process.env.REMA_CONFIG_URL, lifecycle: process.env.REMA_LIFECYCLE_URL, admin: process.env.REMA_ADMIN_URL },
    bootstrapToken: token,
    mqttUrl,
    logger,
    trustProxy,
  });
  if (server.admin && token && !process.env.REMA_TOKEN && (await server.admin.ensureBootstrapToken(token)) === 'revoked') {
    // Someone revoked the saved operator token: make the CLI a new one.
    rmSync(path.join(opts.dataDir, 'api-token'), { force: true });
    token = tokenFile(opts.dataDir);
    await server.admin.ensureBootstrapToken(token);
  }
  await server.app.listen({ port: opts.port, host: opts.host });
  const url = `http://${opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host}:${opts.port}`;
  console.log(`rema ${opts.only ? `${opts.only} service ` : ''}is listening on ${url}`);
  if (!opts.only) console.log(`console:   ${url}/`);
  console.log(`API docs:  ${url}/docs`);
  if (runs('lifecycle')) console.log(`MQTT:      ${mqttUrl} (${stopBroker ? 'embedded broker' : 'from MQTT_URL'}${server.mqtt?.connected ? '' : ', not connected yet'})`);
  if (token) console.log(`API token: ${process.env.REMA_TOKEN ? '(from REMA_TOKEN)' : token}`);
  const admin = server.bootstrap;
  if (admin?.created) {
    // Printed on the first start only: rema keeps nothing but the Argon2id hash.
    console.log(`admin:     ${admin.email} / ${admin.password ?? '(password from REMA_ADMIN_PASSWORD)'}${admin.password ? '  (shown once: log in and change it)' : ''}`);
    console.log(`log in:    curl -X POST -H 'Content-Type: application/json' -d '{"email":"${admin.email}","password":"…"}' ${url}/v1/auth/login`);
  }
  if (runs('config')) console.log(`try:       curl -H "Authorization: Bearer <token>" ${url}/v1/models`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: shutting down`);
    await server.close().catch((err) => console.error(err));
    await stopBroker?.().catch((err) => console.error(err));
    await stopDb?.().catch((err) => console.error(err));
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

/** The operator token kept in `<dataDir>/api-token` (mode 0600), made on first start. */
function tokenFile(dataDir: string): string {
  const file = path.join(dataDir, 'api-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const token = `rema_${randomBytes(24).toString('base64url')}`;
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return token;
}
