import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type { MqttClient } from 'mqtt';
import type { Catalog } from '../core/catalog/catalog.ts';
import { migrateSchema } from '../db/migrate.ts';
import type { HttpApp } from '../http/app.ts';
import type { ConfigClient } from './config-client.ts';
import { createDeployment } from './deployments/create-deployment.ts';
import { driftRoutes } from './deployments/drift-routes.ts';
import { createMqttBridge } from './deployments/mqtt-bridge.ts';
import { deploymentRoutes } from './deployments/routes.ts';
import { createDeploymentRunner } from './deployments/runner.ts';
import type { LifecycleDeps } from './deps.ts';
import { firmwareRoutes } from './devices/firmware-routes.ts';
import { deviceRoutes } from './devices/routes.ts';

export const LIFECYCLE_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/** Creates or upgrades the `lifecycle` schema. */
export function migrateLifecycleSchema(databaseUrl: string) {
  return migrateSchema(databaseUrl, { schema: 'lifecycle', dir: LIFECYCLE_MIGRATIONS_DIR });
}

export interface LifecycleServiceOptions {
  pool: pg.Pool;
  catalog: Catalog;
  /** The configuration service, over its HTTP API: the only way this service reaches it. */
  config: ConfigClient;
  /** The broker connection (reconnecting by itself), or undefined when no broker is configured. */
  mqtt: MqttClient | undefined;
  defaultOrgId: string;
  /** Pause between deployment runner rounds (default 500 ms). */
  runnerIntervalMs?: number;
}

export interface LifecycleService {
  deps: LifecycleDeps;
  /** Starts the deployment runner and the MQTT bridge (acks, reported states). */
  start(): void;
  /** Stops both and waits for the work in hand; the MQTT client stays open (its owner closes it). */
  stop(): Promise<void>;
}

/**
 * The device lifecycle service: physical devices and firmware, deployments of configuration
 * to devices over MQTT, reported state and drift.
 *
 * @example
 *   const lifecycle = registerLifecycleService(app, { pool, catalog, config, mqtt, defaultOrgId });
 *   app.addHook('onReady', async () => lifecycle.start());
 *   app.addHook('onClose', () => lifecycle.stop());
 */
export function registerLifecycleService(app: HttpApp, opts: LifecycleServiceOptions): LifecycleService {
  const log = app.log;
  const runner = createDeploymentRunner({ pool: opts.pool, mqtt: opts.mqtt, config: opts.config, intervalMs: opts.runnerIntervalMs, log });
  const bridge = opts.mqtt ? createMqttBridge({ pool: opts.pool, mqtt: opts.mqtt, onAck: () => runner.kick(), log }) : undefined;
  const deps: LifecycleDeps = {
    pool: opts.pool,
    catalog: opts.catalog,
    config: opts.config,
    mqtt: opts.mqtt,
    defaultOrgId: opts.defaultOrgId,
    async deploy(req, ctx) {
      const created = await createDeployment(deps, req, ctx);
      runner.kick();
      return created;
    },
  };
  deploymentRoutes(app, deps);
  driftRoutes(app, deps);
  deviceRoutes(app, deps);
  firmwareRoutes(app, deps);

  let started = false;
  return {
    deps,
    start() {
      if (started) return;
      started = true;
      bridge?.start();
      runner.start();
    },
    async stop() {
      if (!started) return;
      started = false;
      await runner.stop();
      await bridge?.stop();
    },
  };
}
