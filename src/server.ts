import type pg from 'pg';
import type { FastifyServerOptions } from 'fastify';
import { migrateAuditSchema } from './audit/migrate-audit.ts';
import { auditRoutes } from './audit/routes.ts';
import { createAdminService, migrateAdminSchema, registerAdminService, type AdminService, type AdminServiceOptions } from './admin/service.ts';
import { PLATFORM_ORG_ID, type BootstrapResult } from './admin/bootstrap.ts';
import type { Authenticator } from './auth/authenticator.ts';
import { installAuth } from './auth/install-auth.ts';
import type { Role } from './auth/principal.ts';
import { createRemoteAuthenticator, type RemoteAuthenticator } from './auth/remote-authenticator.ts';
import { serviceTokenClient } from './auth/service-token-client.ts';
import { registerConfigService, migrateConfigSchema } from './config/service.ts';
import type { ConfigDeps } from './config/routes/context.ts';
import { builtinCatalog } from './core/catalog/catalog.ts';
import { createPool, poolShares, poolSizeFromEnv } from './db/pool.ts';
import { buildHttpApp, type HttpApp } from './http/app.ts';
import { installIdempotency, migrateHttpSchema } from './http/idempotency.ts';
import type { ReadyCheck } from './http/health.ts';
import { fetchTransport, httpConfigClient, injectTransport, type Transport } from './lifecycle/config-client.ts';
import { CONFIG_EVENTS_FILTER, transportFeedSource } from './lifecycle/config-events.ts';
import { migrateLifecycleSchema, registerLifecycleService, type LifecycleService } from './lifecycle/service.ts';
import { closeMqtt, connectMqtt, waitForConnection, type MqttClient } from './mqtt/client.ts';
import { SERVICE_NAMES, type PeerUrls, type ServiceName } from './services.ts';

export { SERVICE_NAMES, type PeerUrls, type ServiceName } from './services.ts';

export interface ServerOptions {
  databaseUrl: string;
  /**
   * Run one service only, with only its own migrations (and the shared audit schema), routes
   * and background work; the others are reached at `peers`. Default: all three in one process.
   */
  only?: ServiceName;
  /** The other services' base URLs, needed with `only` (see {@link PeerUrls}). */
  peers?: PeerUrls;
  /**
   * An API token to make sure exists (idempotently), with an org-wide admin binding on the
   * bootstrap (platform) organisation: the operator token of `rema serve`, and the full-rights
   * token of tests. Only where the admin service runs.
   */
  bootstrapToken?: string;
  /** @deprecated The old name of {@link ServerOptions.bootstrapToken}. */
  token?: string;
  /**
   * Authentication knobs (token lifetimes, lockout, login rate limits, service secret); tests
   * shorten them. Apart from the admin, `auth.serviceSecret` (else `REMA_SERVICE_SECRET`) is
   * what this service trades for its service token.
   */
  auth?: AdminServiceOptions;
  /** Organisation that sites belong to when a request names none. */
  defaultOrgId?: string;
  /** fastify/pino logger options (off by default); `rema serve` passes what `REMA_LOG` asks for (src/cli/log-level.ts). */
  logger?: FastifyServerOptions['logger'];
  /** Skip migrations (when another instance or a deploy step runs them). */
  migrate?: boolean;
  /** The MQTT broker devices talk to (`mqtt://host:1883`); without it nothing is deployed. */
  mqttUrl?: string;
  /** Pause between deployment runner rounds (default 500 ms; tests go faster). */
  runnerIntervalMs?: number;
  /**
   * Consuming other services' events: the lifecycle's consumer of the configuration events and,
   * apart from the admin, the remote authenticator's poll of the admin feed (default every 1 s).
   * `false` leaves the lifecycle's consumer off (tests that need an asset retired under a device).
   */
  events?: false | { pollIntervalMs?: number };
  /** Trust `X-Forwarded-For` from these proxies (the gateway, a load balancer): see fastify's `trustProxy`. */
  trustProxy?: boolean | string;
}

/** One process of rema: every service, or the one of `only`. */
export interface ServiceServer {
  /** The services this process runs. */
  services: readonly ServiceName[];
  app: HttpApp;
  pool: pg.Pool;
  config?: ConfigDeps;
  lifecycle?: LifecycleService;
  admin?: AdminService;
  /** The platform organisation and its first admin, where the admin service runs. */
  bootstrap?: BootstrapResult;
  /** The broker connection, where the lifecycle service runs with `mqttUrl`. */
  mqtt: MqttClient | undefined;
  close(): Promise<void>;
}

/** rema with every service in one process (no `only`). */
export interface Server extends ServiceServer {
  config: ConfigDeps;
  lifecycle: LifecycleService;
  admin: AdminService;
  /** The platform organisation and its first admin; `password` only on the first start, to print once. */
  bootstrap: BootstrapResult;
  /**
   * An access JWT of a fresh user holding `bindings` in `opts.orgId` (default: the bootstrap
   * organisation, which is also the default organisation of sites). For tests.
   */
  tokenFor(bindings: ReadonlyArray<{ role: Role; siteId?: string | null }>, opts?: { orgId?: string; name?: string }): Promise<string>;
}

/** The bootstrap (platform) organisation: where sites go when a request names none. */
export const DEFAULT_ORG_ID = PLATFORM_ORG_ID;

/**
 * Builds rema: migrates its schemas, wires the services on one HTTP app. The caller listens
 * (or uses `app.inject()` in tests). With `only`, one service: its own schema and the shared
 * audit schema, its routes and background work, and the other services over HTTP at `peers`.
 *
 * @example
 *   const server = await buildServer({ databaseUrl, bootstrapToken: 'secret' });
 *   await server.app.listen({ port: 8080 });
 *
 *   const lifecycle = await buildServer({ databaseUrl, only: 'lifecycle', mqttUrl, peers: { config: 'http://config:8080', admin: 'http://admin:8080' } });
 */
export async function buildServer(opts: ServerOptions & { only?: undefined }): Promise<Server>;
export async function buildServer(opts: ServerOptions): Promise<ServiceServer>;
export async function buildServer(opts: ServerOptions): Promise<ServiceServer | Server> {
  const services = opts.only ? [opts.only] : SERVICE_NAMES;
  const runs = (s: ServiceName) => services.includes(s);
  const peers = opts.only ? requiredPeers(opts.only, opts.peers ?? {}) : {};
  const serviceSecret = opts.auth?.serviceSecret ?? process.env.REMA_SERVICE_SECRET;
  if (opts.only && opts.only !== 'admin' && !serviceSecret) {
    throw new Error(`the ${opts.only} service needs REMA_SERVICE_SECRET (the admin service's too) to obtain its service token`);
  }

  if (opts.migrate !== false) {
    await migrateAuditSchema(opts.databaseUrl);
    await migrateHttpSchema(opts.databaseUrl);
    if (runs('admin')) await migrateAdminSchema(opts.databaseUrl);
    if (runs('config')) await migrateConfigSchema(opts.databaseUrl);
    if (runs('lifecycle')) await migrateLifecycleSchema(opts.databaseUrl);
  }
  // The lifecycle service calls the configuration service while it holds transactions of its own
  // (a device's row lock, the ack relay's claimed rows). Sharing one pool in one process, enough
  // of those at once hold every connection while their calls wait for one, and the pool starves
  // itself until connects time out (503s, found by test/chaos). So in one process it gets a
  // share of the instance's connections of its own (poolShares), as it has a pool of its own
  // when run apart.
  const ownLifecyclePool = runs('lifecycle') && runs('config');
  const shares = poolShares(poolSizeFromEnv(), ownLifecyclePool);
  const pool = createPool(opts.databaseUrl, { applicationName: opts.only ? `rema-${opts.only}` : 'rema', max: shares.main });
  const lifecyclePool = ownLifecyclePool ? createPool(opts.databaseUrl, { applicationName: 'rema-lifecycle', max: shares.lifecycle }) : pool;
  const pollIntervalMs = opts.events === false ? undefined : opts.events?.pollIntervalMs;

  // Who checks tokens, and where this process's service token comes from: the admin service in
  // this process, or the one at peers.admin.
  let admin: AdminService | undefined;
  let bootstrap: BootstrapResult | undefined;
  let authenticator: Authenticator;
  let remoteAuth: RemoteAuthenticator | undefined;
  let serviceToken: (service: string) => Promise<() => string | Promise<string>>;
  if (runs('admin')) {
    admin = await createAdminService(pool, opts.auth);
    bootstrap = await admin.bootstrap();
    const bootstrapToken = opts.bootstrapToken ?? opts.token;
    if (bootstrapToken) await admin.ensureBootstrapToken(bootstrapToken);
    authenticator = admin.authenticator;
    const local = admin;
    serviceToken = async (service) => (await local.serviceTokenSource(service)).get;
  } else {
    const adminUrl = peers.admin as string;
    const ownToken = serviceTokenClient({ adminUrl, service: opts.only as string, secret: serviceSecret as string });
    remoteAuth = createRemoteAuthenticator({ adminUrl, serviceToken: ownToken, pollIntervalMs });
    authenticator = remoteAuth;
    serviceToken = async () => ownToken;
  }

  const mqtt = runs('lifecycle') && opts.mqttUrl ? connectMqtt(opts.mqttUrl, { clientIdPrefix: 'rema' }) : undefined;
  // Give the broker a moment, so a fresh server is ready at once; if it is down the client keeps
  // trying and /readyz says so meanwhile.
  if (mqtt) await waitForConnection(mqtt, 3000);
  const readyChecks: ReadyCheck[] = [{ name: 'database', check: async () => void (await pool.query('SELECT 1')) }];
  if (mqtt) {
    readyChecks.push({
      name: 'broker',
      check: async () => {
        if (!mqtt.connected) throw new Error(`not connected to the MQTT broker at ${opts.mqttUrl}`);
      },
    });
  }
  const title = opts.only ? `rema ${opts.only} service` : 'rema';
  const app = await buildHttpApp({ logger: opts.logger ?? false, readyChecks, openapi: { title, version: '0.1.0' }, trustProxy: opts.trustProxy });
  installAuth(app, authenticator);
  installIdempotency(app, { pool });
  if (admin) {
    registerAdminService(app, admin);
    // The auditor's view across services: the audit schema is shared infrastructure that every
    // service appends to; the admin service answers the queries.
    auditRoutes(app, { pool });
  }
  const catalog = builtinCatalog();
  const defaultOrgId = opts.defaultOrgId ?? DEFAULT_ORG_ID;
  const config = runs('config') ? registerConfigService(app, { pool, catalog, defaultOrgId }) : undefined;
  let lifecycle: LifecycleService | undefined;
  if (runs('lifecycle')) {
    // The lifecycle service reaches the configuration service only over its HTTP API: in one
    // process an in-process inject, apart a fetch to peers.config; either way with a service
    // token of its own.
    const toConfig: Transport = runs('config') ? injectTransport(app) : fetchTransport(peers.config as string);
    const token = await serviceToken('lifecycle');
    lifecycle = registerLifecycleService(app, {
      pool: lifecyclePool,
      catalog,
      config: httpConfigClient(toConfig, token),
      mqtt,
      defaultOrgId,
      runnerIntervalMs: opts.runnerIntervalMs,
      configEvents: opts.events === false ? undefined : { source: transportFeedSource(toConfig, 'config', token, CONFIG_EVENTS_FILTER), pollIntervalMs },
    });
    // Background work starts once every route is registered.
    const started = lifecycle;
    app.addHook('onReady', async () => started.start());
  }

  // The web console (console/dist) at /, where every service runs in one process: src/console/serve-console.ts.
  if (!opts.only) await (await import('./console/serve-console.ts')).serveConsole(app);
  let closed = false;
  const server: ServiceServer = {
    services,
    app,
    pool,
    config,
    lifecycle,
    admin,
    bootstrap,
    mqtt,
    async close() {
      if (closed) return;
      closed = true;
      await lifecycle?.stop();
      await remoteAuth?.close();
      await admin?.authenticator.close();
      await app.close();
      if (mqtt) await closeMqtt(mqtt);
      if (lifecyclePool !== pool) await lifecyclePool.end();
      await pool.end();
    },
  };
  if (opts.only) return server;
  const local = admin as AdminService;
  return { ...server, tokenFor: (bindings, o) => local.tokenFor(bindings, o) } as Server;
}

/** The peers a service needs when it runs alone; throws naming the missing variable. */
function requiredPeers(only: ServiceName, peers: PeerUrls): PeerUrls {
  const needs: Record<ServiceName, Array<keyof PeerUrls>> = { admin: [], config: ['admin'], lifecycle: ['admin', 'config'] };
  for (const peer of needs[only]) {
    const url = peers[peer];
    if (!url) throw new Error(`the ${only} service needs the ${peer} service's URL (REMA_${peer.toUpperCase()}_URL)`);
    new URL(url); // fails early on a malformed URL
  }
  return peers;
}
