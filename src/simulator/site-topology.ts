import type { AssetViewData, SiteViewData } from '../core/changes/views.ts';
import { gatewayOf } from '../lifecycle/deployments/plan-targets.ts';

/** A GET against the rema API that resolves to the parsed body (and rejects on any error status). */
export type SimulatorApi = (path: string) => Promise<unknown>;

export interface SimulatedGateway {
  id: string;
  name: string;
  /** The gateway and every asset whose configuration it carries. */
  assetIds: string[];
}

export interface SiteTopology {
  site: SiteViewData;
  gateways: SimulatedGateway[];
}

/**
 * Reads a site by code over the API and groups its assets under the gateway that carries
 * their configuration (the first gateway up the parent chain), gateways sorted by name.
 */
export async function loadSiteTopology(api: SimulatorApi, siteCode: string): Promise<SiteTopology> {
  const page = (await api(`/v1/sites?code=${encodeURIComponent(siteCode)}`)) as { items: SiteViewData[] };
  const site = page.items.find((s) => s.code === siteCode);
  if (!site) throw new Error(`no site with code ${siteCode}`);
  const graph = (await api(`/v1/sites/${site.id}/graph`)) as { assets: AssetViewData[] };
  const byId = new Map(graph.assets.map((a) => [a.id, a]));
  const gateways = new Map<string, SimulatedGateway>();
  for (const a of graph.assets) if (a.kind === 'gateway') gateways.set(a.id, { id: a.id, name: a.name, assetIds: [] });
  for (const a of graph.assets) {
    const gateway = gatewayOf(a, byId);
    if (gateway) gateways.get(gateway.id)?.assetIds.push(a.id);
  }
  return { site, gateways: [...gateways.values()].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0)) };
}
