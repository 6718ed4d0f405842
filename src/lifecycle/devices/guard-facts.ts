import type pg from 'pg';
import type { AssetViewData } from '../../core/changes/views.ts';
import { NEEDS_ACTIVE_GATEWAY, type Dependent, type GuardAsset, type TransitionFacts } from '../../core/lifecycle/device-guards.ts';
import type { Transition } from '../../core/lifecycle/device-states.ts';
import type { ConfigClient } from '../config-client.ts';
import { configRead } from './config-calls.ts';
import { gatewayOf } from '../deployments/plan-targets.ts';
import { ackedSince, deviceAt, devicesInSlots, reportedState, runningDeployment, slotHolder, slotTracked } from './device-store.ts';
import { guardDevice, type DeviceRow } from './device-view.ts';

type Queryable = Pick<pg.PoolClient, 'query'>;

/** Transitions whose guards look at the devices that depend on a gateway. */
const NEEDS_DEPENDENTS: readonly Transition[] = ['decommission', 'start_maintenance'];

/**
 * Gathers what the guards of `transitions` need about `device`: the asset (the target of an
 * install, else the device's own) and its site from the configuration service, the device in
 * its slot, what it reported and deployments in flight from this service's tables, and — for a
 * gateway leaving service — the devices installed under it, found through the site graph.
 */
export async function loadTransitionFacts(
  db: Queryable,
  config: ConfigClient,
  device: DeviceRow,
  opts: { targetAssetId?: string; transitions: readonly Transition[] },
): Promise<TransitionFacts> {
  const facts: TransitionFacts = { device: guardDevice(device), targetAssetId: opts.targetAssetId };
  const assetId = opts.targetAssetId ?? device.asset_id;
  if (!assetId) return facts;
  const found = await configRead('read the asset', () => config.getAsset(assetId));
  if (!found) {
    facts.asset = null;
    return facts;
  }
  const asset = found.asset;
  facts.asset = guardAsset(asset);
  const site = await configRead("read the asset's site", () => config.getSite(asset.siteId));
  facts.siteOrgId = site?.orgId ?? null;
  facts.slotHolder = await slotHolder(db, asset.id, device.id);
  if (opts.transitions.includes('commission') && device.asset_id === asset.id) {
    facts.ackedSinceInstall = await ackedSince(db, asset.id, asset.configVersion, device.installed_at);
  }
  facts.reported = await reportedState(db, asset.id);
  facts.runningDeployment = await runningDeployment(db, asset.id);
  if (asset.kind !== 'gateway' && opts.transitions.some((t) => NEEDS_ACTIVE_GATEWAY.includes(t))) {
    facts.gatewayDevice = await gatewayDeviceOf(db, config, asset);
  }
  if (asset.kind === 'gateway' && opts.transitions.some((t) => NEEDS_DEPENDENTS.includes(t))) {
    facts.dependents = await dependentsOf(db, config, asset);
  }
  return facts;
}

/** The facts of an install whose target asset the caller may not see: as if it did not exist. */
export function hideTarget(facts: TransitionFacts): TransitionFacts {
  return { device: facts.device, targetAssetId: facts.targetAssetId, asset: null };
}

export function guardAsset(a: AssetViewData): GuardAsset {
  return { id: a.id, siteId: a.siteId, kind: a.kind, modelId: a.modelId, name: a.name, status: a.status, firmware: a.firmware, config: a.config, configVersion: a.configVersion, deployedVersion: a.deployedVersion };
}

/**
 * The device at the gateway `asset` is polled through: the one filling the gateway's slot, else
 * one reported faulty there, else — when a device was installed there once — the empty slot;
 * null when the asset has no gateway or the gateway's device was never tracked.
 */
async function gatewayDeviceOf(db: Queryable, config: ConfigClient, asset: AssetViewData): Promise<TransitionFacts['gatewayDevice']> {
  const graph = await configRead("read the asset's site graph", () => config.getSiteGraph(asset.siteId));
  if (!graph) return null;
  const byId = new Map(graph.assets.map((a) => [a.id, a]));
  const gateway = gatewayOf(byId.get(asset.id) ?? asset, byId);
  if (!gateway) return null;
  const device = await deviceAt(db, gateway.id);
  if (device) return { serial: device.serial, state: device.state, assetId: gateway.id, assetName: gateway.name };
  return (await slotTracked(db, gateway.id)) ? { serial: null, state: 'empty', assetId: gateway.id, assetName: gateway.name } : null;
}

/** Devices installed on the assets under `gateway` (its controllers and meters, their sensors). */
async function dependentsOf(db: Queryable, config: ConfigClient, gateway: AssetViewData): Promise<Dependent[]> {
  const graph = await configRead("read the gateway's site graph", () => config.getSiteGraph(gateway.siteId));
  if (!graph) return [];
  const children = new Map<string, AssetViewData[]>();
  for (const a of graph.assets) {
    if (!a.parentId) continue;
    const list = children.get(a.parentId) ?? [];
    list.push(a);
    children.set(a.parentId, list);
  }
  const under = new Map<string, AssetViewData>();
  const queue = [gateway.id];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift() as string) ?? []) {
      if (under.has(child.id) || child.id === gateway.id) continue;
      under.set(child.id, child);
      queue.push(child.id);
    }
  }
  const devices = await devicesInSlots(db, [...under.keys()]);
  return devices.map((d) => ({ deviceId: d.id, serial: d.serial, state: d.state, assetId: d.asset_id, assetName: under.get(d.asset_id)?.name ?? d.asset_id }));
}
