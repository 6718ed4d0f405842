import type { Asset, Connection, Site } from '../graph/types.ts';

/** The public JSON shape of an asset: what the API returns and what audit events record. */
export interface AssetViewData {
  id: string;
  siteId: string;
  kind: Asset['kind'];
  modelId: string;
  name: string;
  serial: string | null;
  status: Asset['status'];
  firmware: string | null;
  parentId: string | null;
  port: string | null;
  config: Asset['config'];
  configVersion: number;
  deployedVersion: number | null;
  version: number;
}

export type ConnectionViewData = Pick<Connection, 'id' | 'siteId' | 'a' | 'b' | 'label' | 'lengthM' | 'version'>;
export type SiteViewData = Pick<Site, 'id' | 'orgId' | 'code' | 'name' | 'timezone' | 'network' | 'revision' | 'version'>;
export type EntityView = AssetViewData | ConnectionViewData | SiteViewData;

export function assetView(a: Asset): AssetViewData {
  return {
    id: a.id,
    siteId: a.siteId,
    kind: a.kind,
    modelId: a.modelId,
    name: a.name,
    serial: a.serial,
    status: a.status,
    firmware: a.firmware,
    parentId: a.parentId,
    port: a.port,
    config: a.config,
    configVersion: a.configVersion,
    deployedVersion: a.deployed?.version ?? null,
    version: a.version,
  };
}

export function connectionView(c: Connection): ConnectionViewData {
  return { id: c.id, siteId: c.siteId, a: c.a, b: c.b, label: c.label, lengthM: c.lengthM, version: c.version };
}

export function siteView(s: Site): SiteViewData {
  return { id: s.id, orgId: s.orgId, code: s.code, name: s.name, timezone: s.timezone, network: s.network, revision: s.revision, version: s.version };
}
