import type pg from 'pg';
import { migrateAuditSchema } from './audit/migrate-audit.ts';
import { auditRoutes } from './audit/routes.ts';
import { createAdminService, migrateAdminSchema, registerAdminService, type AdminService, type AdminServiceOptions } from './admin/service.ts';
import { PLATFORM_ORG_ID, type BootstrapResult } from './admin/bootstrap.ts';
import { installAuth } from './auth/install-auth.ts';
import type { Role } from './auth/principal.ts';
import { registerConfigService, migrateConfigSchema } from './config/service.ts';
import type { ConfigDeps } from './config/routes/context.ts';
import { builtinCatalog } from './core/catalog/catalog.ts';
import { createPool } from './db/pool.ts';
import { buildHttpApp, type HttpApp } from './http/app.ts';
import { installIdempotency, migrateHttpSchema } from './http/idempotency.ts';
import type { ReadyCheck } from './http/health.ts';
import { httpConfigClient, injectTransport } from './lifecycle/config-client.ts';
import { migrateLifecycleSchema, registerLifecycleService, type LifecycleService } from './lifecycle/service.ts';
import { closeMqtt, connectMqtt, waitForConnection, type MqttClient } from './mqtt/client.ts';

export interface ServerOptions {
  databaseUrl: string;
  /**
   * An API token to make sure exists (idempotently), with an org-wide admin binding on the
   * bootstrap (platform) organisation: the operator token of `rema serve`, and the full-rights
   * token of tests.
   */
  bootstrapToken?: string;
  /** @deprecated The old name of {@link ServerOptions.bootstrapToken}. */
  token?: string;
  /** Authentication knobs (token lifetimes, lockout, login rate limits, service secret); tests shorten them. */
  auth?: AdminServiceOptions;
  /** Organisation that sites belong to when a request names none. */
  defaultOrgId?: string;
  logger?: boolean;
  /** Skip migrations (when another instance or a deploy step runs them). */
  migrate?: boolean;
  /** The MQTT broker devices talk to (`mqtt://host:1883`); without it nothing is deployed. */
  mqttUrl?: string;
  /** Pause between deployment runner rounds (default 500 ms; tests go faster). */
  runnerIntervalMs?: number;
}

export interface Server {
  app: HttpApp;
  pool: pg.Pool;
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
  /** The broker connection, when `mqttUrl` was given. */
  mqtt: MqttClient | undefined;
  close(): Promise<void>;
}

/** The bootstrap (platform) organisation: where sites go when a request names none. */
export const DEFAULT_ORG_ID = PLATFORM_ORG_ID;

/**
 * Builds rema: migrates its schemas, wires the services on one HTTP app. The caller listens
 * (or uses `app.inject()` in tests).
 *
 * @example
 *   const server = await buildServer({ databaseUrl, bootstrapToken: 'secret' });
 *   await server.app.listen({ port: 8080 });
 */
export async function buildServer(opts: ServerOptions): Promise<Server> {
  if (opts.migrate !== false) {
    await migrateAuditSchema(opts.databaseUrl);
    await migrateHttpSchema(opts.databaseUrl);
    await migrateAdminSchema(opts.databaseUrl);
    await migrateConfigSchema(opts.databaseUrl);
    await migrateLifecycleSchema(opts.databaseUrl);
  }
  const pool = createPool(opts.databaseUrl);
  const admin = await createAdminService(pool, opts.auth);
  const bootstrap = await admin.bootstrap();
  const bootstrapToken = opts.bootstrapToken ?? opts.token;
  if (bootstrapToken) await admin.ensureBootstrapToken(bootstrapToken);
  const mqtt = opts.mqttUrl ? connectMqtt(opts.mqttUrl, { clientIdPrefix: 'rema' }) : undefined;
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
  const app = await buildHttpApp({ logger: opts.logger ?? false, readyChecks, openapi: { title: 'rema', version: '0.1.0' } });
  installAuth(app, admin.authenticator);
  installIdempotency(app, { pool });
  registerAdminService(app, admin);
  const catalog = builtinCatalog();
  const defaultOrgId = opts.defaultOrgId ?? DEFAULT_ORG_ID;
  const config = registerConfigService(app, { pool, catalog, defaultOrgId });
  auditRoutes(app, { pool });
  // The lifecycle service reaches the configuration service only over its HTTP API; in one
  // process that is an in-process inject, with a service JWT of its own.
  const lifecycleToken = await admin.serviceTokenSource('lifecycle');
  const lifecycle = registerLifecycleService(app, {
    pool,
    catalog,
    config: httpConfigClient(injectTransport(app), lifecycleToken.get),
    mqtt,
    defaultOrgId,
    runnerIntervalMs: opts.runnerIntervalMs,
  });
  // The runner and the bridge need a broker; they start once every route is registered.
  if (mqtt) app.addHook('onReady', async () => lifecycle.start());
  let closed = false;
  return {
    app,
    pool,
    config,
    lifecycle,
    mqtt,
    admin,
    bootstrap,
    tokenFor: (bindings, o) => admin.tokenFor(bindings, o),
    async close() {
      if (closed) return;
      closed = true;
      await lifecycle.stop();
      await app.close();
      if (mqtt) await closeMqtt(mqtt);
      await pool.end();
    },
  };
}
