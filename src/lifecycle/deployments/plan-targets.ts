import type { AssetViewData, SiteViewData } from '../../core/changes/views.ts';
import { configHash } from '../../core/config-hash.ts';
import type { FieldError } from '../../http/errors.ts';

/** One asset of a deployment: what it gets (its desired configuration) and through which gateway. */
export interface PlannedTarget {
  assetId: string;
  gatewayId: string;
  siteCode: string;
  /** 1-based. */
  batch: number;
  configVersion: number;
  configHash: string;
  config: Record<string, unknown>;
}

export type TargetPlan = { kind: 'ok'; targets: PlannedTarget[] } | { kind: 'invalid'; errors: FieldError[] };

/**
 * The gateway that carries `asset`'s configuration: the asset itself when it is a gateway,
 * else the first gateway up its parent chain; undefined when the chain ends (or loops) first.
 */
export function gatewayOf(asset: AssetViewData, byId: ReadonlyMap<string, AssetViewData>): AssetViewData | undefined {
  const seen = new Set<string>();
  for (let a: AssetViewData | undefined = asset; a && !seen.has(a.id); a = a.parentId ? byId.get(a.parentId) : undefined) {
    if (a.kind === 'gateway') return a;
    seen.add(a.id);
  }
  return undefined;
}

/**
 * Resolves a deployment's targets from the site graph: each asset's desired configuration
 * (latest version, its hash) and gateway, in batches of `batchSize`. Gateways come first,
 * then the devices under them, then sensors behind controllers, so a device is never
 * configured before the gateway that polls it. A whole-site deployment skips retired
 * assets; naming one (or an asset of another site, or one with no gateway) is refused.
 *
 * @example
 *   const plan = planTargets(graph, { batchSize: 10 });
 *   if (plan.kind === 'ok') plan.targets[0].batch; // 1
 */
export function planTargets(
  graph: { site: SiteViewData; assets: AssetViewData[] },
  req: { assetIds?: string[]; batchSize: number },
): TargetPlan {
  const byId = new Map(graph.assets.map((a) => [a.id, a]));
  const errors: FieldError[] = [];
  let chosen: AssetViewData[];
  if (req.assetIds) {
    chosen = [];
    req.assetIds.forEach((id, i) => {
      const asset = byId.get(id);
      const path = `/assetIds/${i}`;
      if (!asset) errors.push({ in: 'body', path, message: `asset ${id} is not in site ${graph.site.code}` });
      else if (asset.status === 'retired') errors.push({ in: 'body', path, message: `${asset.kind} ${asset.name} is retired; it gets no configuration` });
      else chosen.push(asset);
    });
  } else {
    chosen = graph.assets.filter((a) => a.status !== 'retired');
    if (chosen.length === 0) errors.push({ in: 'body', path: '/siteId', message: `site ${graph.site.code} has no assets to deploy` });
  }

  const withGateway: Array<{ asset: AssetViewData; gateway: AssetViewData; depth: number }> = [];
  for (const asset of chosen) {
    const gateway = gatewayOf(asset, byId);
    if (!gateway) {
      const i = req.assetIds?.indexOf(asset.id) ?? -1;
      errors.push({ in: 'body', path: i >= 0 ? `/assetIds/${i}` : '/siteId', message: `${asset.kind} ${asset.name} has no gateway above it to carry its configuration` });
      continue;
    }
    withGateway.push({ asset, gateway, depth: depthBelow(asset, gateway, byId) });
  }
  if (errors.length > 0) return { kind: 'invalid', errors };

  withGateway.sort((x, y) => x.depth - y.depth || compare(x.asset.name, y.asset.name) || compare(x.asset.id, y.asset.id));
  const targets = withGateway.map(({ asset, gateway }, i) => ({
    assetId: asset.id,
    gatewayId: gateway.id,
    siteCode: graph.site.code,
    batch: Math.floor(i / req.batchSize) + 1,
    configVersion: asset.configVersion,
    configHash: configHash(asset.config),
    config: asset.config,
  }));
  return { kind: 'ok', targets };
}

function depthBelow(asset: AssetViewData, gateway: AssetViewData, byId: ReadonlyMap<string, AssetViewData>): number {
  let depth = 0;
  for (let a: AssetViewData | undefined = asset; a && a.id !== gateway.id && depth < 64; a = a.parentId ? byId.get(a.parentId) : undefined) depth++;
  return depth;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
