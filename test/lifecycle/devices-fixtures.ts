import { randomUUID } from 'node:crypto';
import { configHash } from '../../src/core/config-hash.ts';
import type { Transition } from '../../src/core/lifecycle/device-states.ts';
import type { DeviceViewData } from '../../src/lifecycle/devices/device-view.ts';
import { type Api, type ApiResponse, type AuditEvent, expectStatus, getAsset, type Page, type SiteFixture } from '../api/helpers.ts';
import type { LifecycleHarness } from './harness.ts';

export type Device = DeviceViewData;

export const deviceTag = (d: { id: string; version: number }) => `"device-${d.id}-v${d.version}"`;

/** A serial no other test used. */
export const newSerial = (prefix = 'SN') => `${prefix}-${randomUUID().slice(0, 8).toUpperCase()}`;

export async function registerDevice(api: Api, modelId: string, firmware: string, serial = newSerial()): Promise<Device> {
  return expectStatus(await api<Device>('POST', '/v1/devices', { serial, modelId, firmware }), 201, `register ${modelId} ${serial}`);
}

export async function getDevice(api: Api, id: string): Promise<Device> {
  return expectStatus(await api<Device>('GET', `/v1/devices/${id}`), 200, `get device ${id}`);
}

/** Asks for a transition with the device's current ETag. */
export async function transition<T = Device>(api: Api, device: { id: string }, name: Transition, extra: { assetId?: string; comment?: string } = {}, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
  const current = await getDevice(api, device.id);
  return api<T>('POST', `/v1/devices/${device.id}/transitions`, { transition: name, ...extra }, { 'if-match': deviceTag(current), ...headers });
}

/** Runs transitions that must succeed, in order. */
export async function walk(api: Api, device: { id: string }, steps: Array<Transition | [Transition, { assetId?: string }]>): Promise<Device> {
  let last: Device | undefined;
  for (const step of steps) {
    const [name, extra] = Array.isArray(step) ? step : [step, {}];
    last = expectStatus(await transition(api, device, name, extra), 200, `${name} of ${device.id}`);
  }
  if (!last) throw new Error('no steps');
  return last;
}

/** Marks the asset's desired configuration as acknowledged by its device (configuration service; an internal route, so as the lifecycle service). */
export async function markDeployed(h: LifecycleHarness, assetId: string): Promise<void> {
  const asset = await getAsset(h.api, assetId);
  const token = await h.server.admin.serviceToken('lifecycle');
  const res = await h.server.app.inject({ method: 'PUT', url: `/v1/internal/assets/${assetId}/deployed`, headers: { authorization: `Bearer ${token}` }, payload: { configVersion: asset.configVersion } });
  if (res.statusCode !== 200) throw new Error(`mark ${assetId} deployed: expected 200, got ${res.statusCode}: ${res.body}`);
}

/**
 * Records what the asset's gateway reported: by default exactly its desired configuration. As a
 * gateway does, it first acknowledges the asset's configuration version — a finished deployment
 * through the fixture's gateway, acknowledged now — since a state counts only through the
 * gateway the asset is deployed through, and commissioning needs an acknowledgement since the
 * device was installed.
 */
export async function report(h: LifecycleHarness, f: SiteFixture, assetId: string, override: { version?: number; hash?: string } = {}): Promise<void> {
  const asset = await getAsset(h.api, assetId);
  await h.db.pool.query(
    `WITH d AS (
       INSERT INTO lifecycle.deployments (id, org_id, site_id, status, batch_size, failure_threshold, timeout_ms, actor, finished_at)
       VALUES ($1, $2, $3, 'succeeded', 1, 1, 10000, '{"type":"token","id":"token:test","name":"test"}', now()))
     INSERT INTO lifecycle.deployment_targets (deployment_id, asset_id, gateway_id, site_code, batch, config_version, config_hash, config, status, sent_at, finished_at, acked_at)
     VALUES ($1, $4, $5, $6, 1, $7, $8, $9, 'acked', now(), now(), now())`,
    [randomUUID(), f.site.orgId, f.site.id, assetId, f.gateway.id, f.site.code, asset.configVersion, configHash(asset.config), JSON.stringify(asset.config)],
  );
  await h.db.pool.query(
    `INSERT INTO lifecycle.reported_state (asset_id, site_code, gateway_id, version, hash) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (asset_id) DO UPDATE SET site_code = EXCLUDED.site_code, gateway_id = EXCLUDED.gateway_id, version = EXCLUDED.version, hash = EXCLUDED.hash, reported_at = now()`,
    [assetId, f.site.code, f.gateway.id, override.version ?? asset.configVersion, override.hash ?? configHash(asset.config)],
  );
}

/** Deployed and reported back: what commissioning needs. */
export async function deployAndReport(h: LifecycleHarness, f: SiteFixture, assetId: string): Promise<void> {
  await markDeployed(h, assetId);
  await report(h, f, assetId);
}

/** Installs, commissions and activates a device at `assetId`. */
export async function bringIntoService(h: LifecycleHarness, f: SiteFixture, device: Device, assetId: string): Promise<Device> {
  await walk(h.api, device, [['install', { assetId }]]);
  await deployAndReport(h, f, assetId);
  return walk(h.api, device, ['commission', 'activate']);
}

/** Audit events of one device, newest first. */
export async function auditOfDevice(api: Api, deviceId: string, filter: Record<string, string> = {}): Promise<Array<AuditEvent & { scope: string }>> {
  const qs = new URLSearchParams({ entityId: deviceId, limit: '1000', ...filter });
  return expectStatus(await api<Page<AuditEvent & { scope: string }>>('GET', `/v1/audit?${qs}`), 200, 'audit query').items;
}
