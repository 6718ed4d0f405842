import type pg from 'pg';
import type { MqttClient } from 'mqtt';
import type { Catalog } from '../core/catalog/catalog.ts';
import type { ConfigClient } from './config-client.ts';
import type { DeployContext } from './deployments/create-deployment.ts';

/** A request to deploy desired configuration: a whole site, or some of its assets. */
export interface DeploymentRequest {
  siteId: string;
  /** Omit for every asset of the site. */
  assetIds?: string[];
  batchSize?: number;
  /** Fraction (0–1) of failed or silent targets, per batch so far, that aborts the rest. */
  failureThreshold?: number;
  timeoutMs?: number;
  comment?: string | null;
}

export interface LifecycleDeps {
  pool: pg.Pool;
  catalog: Catalog;
  /** The configuration service, over its HTTP API. */
  config: ConfigClient;
  /** Connected MQTT client, or undefined when no broker is configured. */
  mqtt: MqttClient | undefined;
  defaultOrgId: string;
  /** Starts a deployment (used by device replacement, among others). */
  deploy(req: DeploymentRequest, ctx: DeployContext): Promise<{ id: string }>;
}
