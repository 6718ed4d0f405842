import type { AssetKind } from '../catalog/types.ts';

export type AssetStatus = 'planned' | 'active' | 'retired';

export interface SiteNetwork {
  /** IPv4 CIDR, e.g. `10.20.0.0/24`. */
  subnet: string;
  /** Router (default gateway) address inside the subnet. */
  router: string;
  vlan?: number;
}

export interface Site {
  id: string;
  orgId: string;
  code: string;
  name: string;
  timezone: string;
  network: SiteNetwork;
  /** Bumped by every committed change to the site or anything in it. */
  revision: number;
  /** Row version of the site itself (its ETag). */
  version: number;
}

/** A configuration document; its shape depends on the asset's kind (see catalog schemas). */
export type ConfigDoc = Record<string, unknown>;

/**
 * What a configuration version fixes about an asset: where it is attached and its
 * configuration document. Versions are immutable; the latest is the desired state, the
 * one the device last acknowledged is the deployed state.
 */
export interface AssetPlacement {
  parentId: string | null;
  /** Name of the parent's port the asset hangs on (an rs485 bus or a point channel). */
  port: string | null;
  config: ConfigDoc;
}

export interface Asset extends AssetPlacement {
  id: string;
  siteId: string;
  kind: AssetKind;
  modelId: string;
  name: string;
  serial: string | null;
  status: AssetStatus;
  /** Firmware the asset's device runs, when known. */
  firmware: string | null;
  /** Row version (ETag); bumped by every change of the asset. */
  version: number;
  /** Latest configuration version number (the desired configuration). */
  configVersion: number;
  /** Configuration version last acknowledged by the device, with its placement. */
  deployed: (AssetPlacement & { version: number }) | null;
}

export interface Connection {
  id: string;
  siteId: string;
  a: { assetId: string; port: string };
  b: { assetId: string; port: string };
  label: string | null;
  /** Cable length in metres. */
  lengthM: number;
  version: number;
}

/** A site with everything in it: the unit validation works on. */
export interface SiteGraph {
  site: Site;
  /** Read-only: a change makes a new graph (a `ChangedMap` over this one), never writes a graph in place. */
  assets: ReadonlyMap<string, Asset>;
  connections: Map<string, Connection>;
}
