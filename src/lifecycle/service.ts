import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type { MqttClient } from 'mqtt';
import type { Catalog } from '../core/catalog/catalog.ts';
import { migrateSchema } from '../db/migrate.ts';
import type { EventConsumer, FeedSource } from '../events/consumer.ts';
import { eventFeedRoutes } from '../events/feed.ts';
import type { PruneOwn } from '../events/prune.ts';
import type { HttpApp } from '../http/app.ts';
import type { ConfigClient } from './config-client.ts';
import { startConfigEvents } from './config-events.ts';
import { ACKED_TOPIC, pruneRelayedAcks } from './deployments/ack-relay.ts';
import { createDeployment } from './deployments/create-deployment.ts';
import { driftRoutes } from './deployments/drift-routes.ts';
import { createMqttBridge } from './deployments/mqtt-bridge.ts';
import { pruneOutOfService } from './deployments/retained-clears.ts';
import { deploymentRoutes } from './deployments/routes.ts';
import { createDeploymentRunner } from './deployments/runner.ts';
import type { LifecycleDeps } from './deps.ts';
import { firmwareRoutes } from './devices/firmware-routes.ts';
import { deviceRoutes } from './devices/routes.ts';
import { throttledWarnings } from './throttled-warnings.ts';

export const LIFECYCLE_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/** What the lifecycle service keeps beside its feed and prunes in the feed's round: relayed acks, assets long out of service. */
export const pruneOwnRows: PruneOwn = async (pool, retentionMs) => (await pruneRelayedAcks(pool, retentionMs)) + (await pruneOutOfService(pool, retentionMs));

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
  /**
   * The configuration service's event feed (retired and deleted assets unbind their devices),
   * read from `start()` on; without it no events are consumed.
   */
  configEvents?: { source: FeedSource; pollIntervalMs?: number };
}

export interface LifecycleService {
  deps: LifecycleDeps;
  /**
   * Starts the background work: the deployment runner and the MQTT bridge (acks, reported
   * states) when there is a broker, the consumer of the configuration events when given.
   */
  start(): void;
  /** Stops it all and waits for the work in hand; the MQTT client stays open (its owner closes it). */
  stop(): Promise<void>;
  /** Handles every configuration event available now (tests); 0 without a consumer. */
  syncConfigEvents(): Promise<number>;
}

/**
 * The device lifecycle service: physical devices and firmware, deployments of configuration
 * to devices over MQTT, reported state and drift; its event feed
 * (`/v1/internal/events/lifecycle`, without the acknowledged versions its ack relay keeps in
 * the same outbox).
 *
 * @example
 *   const lifecycle = registerLifecycleService(app, { pool, catalog, config, mqtt, defaultOrgId });
 *   app.addHook('onReady', async () => lifecycle.start());
 *   app.addHook('onClose', () => lifecycle.stop());
 */
export function registerLifecycleService(app: HttpApp, opts: LifecycleServiceOptions): LifecycleService {
  // Devices and outages can repeat a warning many times a second: once a minute per kind, with a count.
  const log = throttledWarnings(app.log);
  const runner = createDeploymentRunner({ pool: opts.pool, mqtt: opts.mqtt, config: opts.config, intervalMs: opts.runnerIntervalMs, log });
  const bridge = opts.mqtt ? createMqttBridge({ pool: opts.pool, mqtt: opts.mqtt, onAck: (outcomes) => runner.acked(outcomes), log }) : undefined;
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
  eventFeedRoutes(app, { service: 'lifecycle', schema: 'lifecycle', pool: opts.pool, order: 'sequenced', excludeTopics: [ACKED_TOPIC], pruneOwn: pruneOwnRows });

  let started = false;
  let consumer: EventConsumer | undefined;
  return {
    deps,
    start() {
      if (started) return;
      started = true;
      if (opts.mqtt) {
        bridge?.start();
        runner.start();
      }
      if (opts.configEvents) consumer = startConfigEvents({ pool: opts.pool, ...opts.configEvents, log });
    },
    async stop() {
      if (!started) return;
      started = false;
      await consumer?.stop();
      consumer = undefined;
      if (opts.mqtt) {
        await runner.stop();
        await bridge?.stop();
      }
    },
    syncConfigEvents: () => consumer?.pollOnce() ?? Promise.resolve(0),
  };
}
